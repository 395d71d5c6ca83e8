import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';

/**
 * What every benchmark is given and what it gives back. A benchmark measures the ledger (the
 * subject) and its own baseline in the same run, on the same servers, and reports both; the
 * runner (test/bench/run.ts) prints them, keeps them as JSON and writes BENCHMARKS.md.
 */

export interface BenchContext {
  /** `npm run bench -- --smoke`: every benchmark at a tiny size, only to prove it still runs. */
  readonly smoke: boolean;
  readonly postgres: { readonly kind: 'embedded' | 'external'; readonly version: string };
  /** null when no Redis answers: the Redis rows are then reported as not run. */
  readonly redisUrl: string | null;
  /** A new, empty database on the run's Postgres server (dropped by `drop`). */
  freshDatabase(label: string): Promise<FreshDatabase>;
  /** Progress for the person watching (stderr); never part of the results. */
  log(line: string): void;
}

export interface FreshDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** Milliseconds. */
export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface Figure {
  /** What was measured: "ledger PostgresEventStore", "Emmett 0.42.0", "raw pg INSERT". */
  readonly name: string;
  readonly value: number;
  /** "events/s", "requests/s", "payments/s". */
  readonly unit: string;
  readonly latency?: Latency;
  /** Peak resident set size of the process(es) that did the work, in MiB. */
  readonly peakRssMb?: number;
  readonly note?: string;
}

export interface BenchRow {
  /** The benchmark's id, e.g. "event-store". */
  readonly benchmark: string;
  /** The case within it, e.g. "16 writers, 10 events/append". */
  readonly case: string;
  readonly subject: Figure;
  /** null when the baseline could not run (no Redis); `notes` says why. */
  readonly baseline: Figure | null;
  /** subject.value / baseline.value (both "higher is better"). */
  readonly ratio: number | null;
  /** The ratio the issue aims at, and whether this run met it. */
  readonly goal: { readonly ratio: number; readonly met: boolean } | null;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  readonly notes: readonly string[];
}

export interface Benchmark {
  readonly id: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export function compare(input: {
  benchmark: string;
  case: string;
  subject: Figure;
  baseline: Figure | null;
  goal?: number;
  settings: Record<string, string | number | boolean>;
  notes?: string[];
}): BenchRow {
  const ratio = input.baseline && input.baseline.value > 0 ? input.subject.value / input.baseline.value : null;
  return {
    benchmark: input.benchmark,
    case: input.case,
    subject: input.subject,
    baseline: input.baseline,
    ratio,
    goal: input.goal === undefined ? null : { ratio: input.goal, met: ratio !== null && ratio >= input.goal },
    settings: input.settings,
    notes: input.notes ?? [],
  };
}

/** Nearest-rank percentiles of latency samples in milliseconds. */
export function latency(samplesMs: readonly number[]): Latency {
  if (samplesMs.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samplesMs).sort();
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1]! };
}

/** This process's peak RSS so far, in MiB. */
export function processPeakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Another process's peak RSS (VmHWM) in MiB, while it is still running; undefined once gone. */
export function peakRssOfPidMb(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `exportName(args)` from `modulePath` in a new Node process, so that what it measures and
 * the peak RSS it reports belong to that work alone (a subject and its baseline each get one).
 * The function's result must survive structured cloning.
 */
export function inFreshProcess<T>(modulePath: string, exportName: string, args: unknown): Promise<{ result: T; peakRssMb: number }> {
  return new Promise((resolvePromise, reject) => {
    // BENCH_CPU_PROF=<dir> leaves a CPU profile of each such process in <dir>.
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const child = fork(resolve(__dirname, 'isolate.ts'), [resolve(modulePath), exportName], {
      execArgv: ['--import', 'tsx', ...profile],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    child.once('message', (message: { ok: true; result: T; peakRssMb: number } | { ok: false; error: string }) => {
      settled = true;
      if (message.ok) resolvePromise({ result: message.result, peakRssMb: message.peakRssMb });
      else reject(new Error(`${exportName} in ${modulePath}: ${message.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`${exportName} in ${modulePath} exited with ${code} before answering`));
    });
    child.once('spawn', () => child.send({ args }));
  });
}

/** Creates a database on the server behind `serverUrl` and gives its URL. */
export async function createDatabase(serverUrl: string, label: string): Promise<FreshDatabase> {
  const name = `bench_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${Date.now().toString(36)}_${process.pid}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
