// npm run bench [-- --smoke] [-- --only id,id]
//
// Runs every benchmark in test/bench/benchmarks.ts, each in a process of its own, against one
// Postgres server (BENCH_DATABASE_URL, or an embedded one started here) and one Redis
// (BENCH_REDIS_URL, default redis://127.0.0.1:6379, where one answers). Prints a table, writes the
// figures as JSON to test/bench/results/<timestamp>.json and rewrites the generated part of
// BENCHMARKS.md. A smoke run (tiny sizes, for CI) writes its JSON to the temporary folder and
// leaves BENCHMARKS.md alone. `--render <results.json>` rewrites BENCHMARKS.md's table from a
// results file without running anything.
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../infra/postgres/embedded';
import { BENCHMARKS } from './benchmarks';
import type { BenchRow } from './harness';

const ROOT = resolve(__dirname, '../..');
const START = '<!-- bench:generated:start -->';
const END = '<!-- bench:generated:end -->';

interface Outcome {
  readonly id: string;
  readonly title: string;
  readonly rows: BenchRow[];
  readonly peakRssMb: number;
  readonly seconds: number;
  readonly error?: string;
}

function parseArgs(argv: string[]): { smoke: boolean; only: string[] | null } {
  const smoke = argv.includes('--smoke');
  const at = argv.indexOf('--only');
  const only = at >= 0 ? (argv[at + 1] ?? '').split(',').filter(Boolean) : null;
  const unknown = argv.filter((a, i) => a !== '--smoke' && a !== '--only' && !(at >= 0 && i === at + 1));
  if (unknown.length > 0) throw new Error(`unknown arguments: ${unknown.join(' ')} (use --smoke, --only id,id)`);
  if (only) {
    const missing = only.filter((id) => !BENCHMARKS.some((b) => b.id === id));
    if (missing.length > 0) throw new Error(`no benchmark ${missing.join(', ')}; there are ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  }
  return { smoke, only };
}

async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

async function redisAt(url: string): Promise<string | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

function runOne(id: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = fork(resolve(__dirname, 'child.ts'), [id], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer: Outcome | null = null;
    child.on('message', (m: { ok: true; title: string; rows: BenchRow[]; peakRssMb: number } | { ok: false; error: string }) => {
      const seconds = (Date.now() - started) / 1000;
      answer = m.ok
        ? { id, title: m.title, rows: m.rows, peakRssMb: m.peakRssMb, seconds }
        : { id, title: id, rows: [], peakRssMb: 0, seconds, error: m.error };
    });
    child.on('exit', (code, signal) => {
      resolvePromise(
        answer ?? { id, title: id, rows: [], peakRssMb: 0, seconds: (Date.now() - started) / 1000, error: `exited with ${code ?? signal} before answering` },
      );
    });
  });
}

const num = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));
const figure = (f: BenchRow['subject'] | null) => (f ? `${num(f.value)} ${f.unit}` : 'not run');
const lat = (f: BenchRow['subject'] | null) => (f?.latency ? `${num(f.latency.p50)} / ${num(f.latency.p99)} / ${num(f.latency.max)}` : '');
/** Three decimals, so that a ratio just under its goal does not print as the goal. */
const ratio = (r: BenchRow) => (r.ratio === null ? '' : `${r.ratio.toFixed(3)}x`);
const rss = (f: BenchRow['subject'] | null) => (f?.peakRssMb !== undefined ? `${Math.round(f.peakRssMb)}` : '');

function markdownTable(outcomes: Outcome[]): string {
  const lines = [
    '| Benchmark | Case | Ledger | Baseline | Ratio | Goal | Ledger p50 / p99 / max ms | Baseline p50 / p99 / max ms | Peak RSS MiB (ledger / baseline) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const o of outcomes) {
    if (o.error) {
      lines.push(`| ${o.id} | FAILED | ${o.error.split('\n')[0]!.replace(/\|/g, '\\|')} | | | | | | |`);
      continue;
    }
    for (const r of o.rows) {
      const goal = r.goal ? `${r.goal.ratio}x ${r.goal.met ? 'met' : 'not met'}` : '';
      lines.push(
        `| ${r.benchmark} | ${r.case} | ${r.subject.name}: ${figure(r.subject)} | ${r.baseline ? `${r.baseline.name}: ${figure(r.baseline)}` : 'not run'} | ` +
          `${ratio(r)} | ${goal} | ${lat(r.subject)} | ${lat(r.baseline)} | ${rss(r.subject)} / ${rss(r.baseline)} |`,
      );
    }
  }
  return lines.join('\n');
}

function consoleTable(outcomes: Outcome[]): string {
  const header = ['benchmark', 'case', 'ledger', 'baseline', 'ratio', 'goal', 'ledger p50/p99/max ms', 'peak RSS MiB'];
  const rows: string[][] = [header];
  for (const o of outcomes) {
    if (o.error) rows.push([o.id, 'FAILED', o.error.split('\n')[0]!, '', '', '', '', '']);
    for (const r of o.rows) {
      rows.push([
        r.benchmark,
        r.case,
        figure(r.subject),
        figure(r.baseline),
        ratio(r),
        r.goal ? `${r.goal.ratio}x ${r.goal.met ? 'met' : 'NOT met'}` : '',
        lat(r.subject),
        `${rss(r.subject)} / ${rss(r.baseline)}`,
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

interface Results {
  readonly at: string;
  readonly command: string;
  readonly machine: Record<string, string | number>;
  readonly benchmarks: Outcome[];
}

/** Rewrites the generated block of BENCHMARKS.md from one run's results. */
function writeBenchmarksMd(results: Results, file: string): void {
  const doc = join(ROOT, 'BENCHMARKS.md');
  const text = readFileSync(doc, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) throw new Error(`BENCHMARKS.md has no ${START} … ${END} block`);
  const { machine } = results;
  const generated = [
    START,
    `Run ${results.at} with \`${results.command}\` on ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `Postgres ${machine.postgres}, Redis ${machine.redis}. Figures: \`${file}\`.`,
    '',
    markdownTable(results.benchmarks),
    END,
  ].join('\n');
  writeFileSync(doc, text.slice(0, from) + generated + text.slice(to + END.length));
  console.log('BENCHMARKS.md updated');
}

async function main(): Promise<void> {
  const render = process.argv.indexOf('--render');
  if (render >= 0) {
    const file = process.argv[render + 1];
    if (!file) throw new Error('--render needs a results file');
    writeBenchmarksMd(JSON.parse(readFileSync(file, 'utf8')) as Results, relative(ROOT, resolve(file)));
    return;
  }
  const { smoke, only } = parseArgs(process.argv.slice(2));
  const chosen = BENCHMARKS.filter((b) => (only ? only.includes(b.id) : true));

  let serverUrl = process.env.BENCH_DATABASE_URL;
  let kind: 'embedded' | 'external' = 'external';
  let stopPostgres: () => Promise<void> = async () => undefined;
  if (!serverUrl) {
    kind = 'embedded';
    const running = await startEmbeddedPostgres({
      dataDir: mkdtempSync(join(tmpdir(), 'ledger-bench-pg-')),
      port: 20000 + Math.floor(Math.random() * 20000),
      database: 'postgres',
    });
    serverUrl = running.url;
    stopPostgres = () => running.stop();
  }
  const postgresVersion = await serverVersion(serverUrl);
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisVersion = await redisAt(redisUrl);

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: `${postgresVersion} (${kind})`,
    redis: redisVersion ?? 'none reachable (Redis rows not run)',
  };
  console.error(`bench${smoke ? ' (smoke)' : ''}: ${chosen.map((b) => b.id).join(', ')}; ${JSON.stringify(machine)}`);

  const outcomes: Outcome[] = [];
  try {
    for (const b of chosen) {
      if (!existsSync(resolve(__dirname, b.module))) {
        outcomes.push({ id: b.id, title: b.id, rows: [], peakRssMb: 0, seconds: 0, error: `${b.module} does not exist` });
        continue;
      }
      console.error(`-- ${b.id}`);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        BENCH_SERVER_URL: serverUrl,
        BENCH_POSTGRES_KIND: kind,
        BENCH_POSTGRES_VERSION: postgresVersion,
        BENCH_REDIS_URL: redisVersion ? redisUrl : '',
        BENCH_SMOKE: smoke ? '1' : '0',
        STRIPE_SUPPRESS_NOTICES: 'true',
      };
      const outcome = await runOne(b.id, env);
      if (outcome.error) console.error(`${b.id} failed: ${outcome.error}`);
      outcomes.push(outcome);
    }
  } finally {
    await stopPostgres();
  }

  const command = `npm run bench${smoke ? ' -- --smoke' : ''}${only ? ` -- --only ${only.join(',')}` : ''}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const results = { at: new Date().toISOString(), command, smoke, machine, benchmarks: outcomes };
  const dir = smoke ? mkdtempSync(join(tmpdir(), 'ledger-bench-smoke-')) : join(ROOT, 'test/bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

  console.log(consoleTable(outcomes));
  console.log(`\nresults: ${file}`);
  if (!smoke && !only) {
    writeBenchmarksMd(results, `test/bench/results/${stamp}.json`);
  }
  const failed = outcomes.filter((o) => o.error);
  if (failed.length > 0) {
    console.error(`failed: ${failed.map((o) => o.id).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
