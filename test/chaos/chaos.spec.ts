import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import { migrate } from '../../infra/postgres/migrate';
import { createApiKey } from '../../infra/auth/api-keys';
import { isolatedDatabase } from '../support/postgres';
import { snapshotLedger, startCluster, type Cluster } from './cluster';
import { createDriver } from './driver';
import { planFlows } from './flows';
import { startKiller } from './killer';
import { chaosOptions } from './options';
import { waitForQuiescence } from './quiescence';
import { seededRandom, streamSeed } from './random';
import {
  flowsEndedAsAsked,
  foldStreams,
  idempotencyHeld,
  ledgerBalances,
  paymentsSettled,
  processorAgrees,
  readModelDigest,
  readModelEqualsFold,
  requestsMatchStreams,
  type Check,
} from './checks';
import { summary, table } from './summary';

process.env.STRIPE_SUPPRESS_NOTICES = 'true';

const options = chaosOptions();
const log = (line: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Faults at the sandbox, all from the run's seed: every kind DESIGN section 7 names. */
const faults = (seed: number) => ({
  seed,
  error5xxRate: 0.04,
  rateLimitRate: 0.03,
  latencyMs: [0, 30] as [number, number],
  timeoutRate: 0.01,
  // Shorter than the SDK's timeout: the socket is dropped, an unknown outcome the saga must retry.
  timeoutHoldMs: 1_500,
  lostResponseRate: 0.03,
  webhookDuplicateRate: 0.2,
  webhookReorder: true,
  webhookDelayMs: 200,
  webhookFailFirstRate: 0.1,
});

/** One `ledger` command against the cluster's database and sandbox. */
function ledger(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function sandbox<T>(cluster: Cluster, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${cluster.sandboxUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`sandbox ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Removes the run's queue from Redis: its name is the run's own, so nothing else is touched. */
async function dropQueue(redisUrl: string, queueName: string): Promise<void> {
  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `bull:${queueName}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** BullMQ's keys in a Redis database of the run's own, so parallel runs (and other tests) never share a queue. */
function isolatedRedisUrl(base: string, seed: number): string {
  const url = new URL(base);
  url.pathname = `/${1 + ((seed + Math.floor(Math.random() * 1000)) % 15)}`;
  return url.toString();
}

async function reconciliationCheck(command: string, env: NodeJS.ProcessEnv, from: Date): Promise<Check> {
  const name = 'reconciliation: no unexplained discrepancy';
  const help = await ledger(command, ['--help'], env, 60_000);
  if (!/^\s+reconcile\b/m.test(help.stdout)) return { name, ok: null, detail: 'not available: this build has no `ledger reconcile`' };
  const to = new Date(Date.now() + 10 * 60_000);
  const run = await ledger(command, ['reconcile', '--from', new Date(from.getTime() - 10 * 60_000).toISOString(), '--to', to.toISOString(), '--json'], env, 30 * 60_000);
  let view: { unresolved?: number; healed?: number; discrepancies?: { kind: string; payment_id: string | null; status: string }[]; summary?: { payments?: number; matched?: number } | null };
  try {
    view = JSON.parse(run.stdout);
  } catch {
    return { name, ok: false, detail: `ledger reconcile exited ${run.code} without a run: ${(run.stderr || run.stdout).slice(-400)}` };
  }
  const discrepancies = view.discrepancies ?? [];
  const unresolved = discrepancies.filter((d) => d.status === 'open' || d.status === 'unresolved');
  const detail = `${view.summary?.payments ?? '?'} payments, ${view.summary?.matched ?? '?'} matched; ${discrepancies.length} discrepancies, ${view.healed ?? 0} healed, ${view.unresolved ?? '?'} unresolved (exit ${run.code})`;
  const ok = (view.unresolved ?? 1) === 0 && run.code === 0;
  return { name, ok, detail, examples: (unresolved.length > 0 ? unresolved : discrepancies).slice(0, 5).map((d) => `${d.kind} ${d.payment_id ?? '-'} ${d.status}`) };
}

describe('chaos soak', () => {
  const budgetMs = options.seconds * 1_000 + options.quiescenceMs + options.payments * 300 + 300_000;

  it(
    `keeps every promise of the ledger under kills and Stripe faults (seed ${options.seed})`,
    async () => {
      const { seed } = options;
      const replay = `CHAOS_SEED=${seed} CHAOS_PAYMENTS=${options.payments} CHAOS_SECONDS=${options.seconds} CHAOS_KILL_EVERY_MS=${options.killEveryMs} npm run test:chaos`;
      log(`seed ${seed}: ${options.payments} payments, at least ${options.seconds} s of chaos, a kill every ~${options.killEveryMs} ms`);
      const runDir = mkdtempSync(join(tmpdir(), `ledger-chaos-${seed}-`));
      const command = snapshotLedger(runDir);
      process.env.TEST_DATABASE_URL ??= options.databaseUrl;
      const database = await isolatedDatabase('chaos');
      const pool = new Pool({ connectionString: database.url, max: 4 });
      let cluster: Cluster | null = null;
      let failed = true;
      const redisUrl = isolatedRedisUrl(options.redisUrl, seed);
      const queueName = `chaos-${seed}-${randomUUID().slice(0, 8)}`;
      try {
        await migrate(pool);
        const merchantId = `m_chaos_${seed}`;
        const { key } = await createApiKey(pool, { merchantId, scopes: ['payments:write', 'payments:read', 'audit:read', 'admin'] });
        cluster = await startCluster({
          databaseUrl: database.url,
          redisUrl,
          queueName,
          webhookSecret: `whsec_${randomBytes(24).toString('hex')}`,
          runDir,
          ledger: command,
        });
        log(`cluster up (logs in ${runDir}; Redis ${redisUrl}); chaos begins`);
        await sandbox(cluster, '/__sandbox/faults', { faults: faults(streamSeed(seed, 'faults')) });

        // Chaos: the driver's flows, spread over the chosen time, while the killer works.
        const chaosStarted = new Date();
        const plans = planFlows(seededRandom(streamSeed(seed, 'flows')), options.payments, seed);
        const driver = createDriver({
          writeUrls: cluster.writeUrls,
          readUrl: cluster.readUrl,
          apiKey: key,
          merchantId,
          concurrency: options.concurrency,
        });
        const killer = startKiller(cluster, seededRandom(streamSeed(seed, 'killer')), options.killEveryMs, log);
        const progress = setInterval(() => log(`driver: ${driver.results.length}/${plans.length} flows, ${driver.journal.length} requests answered`), 15_000);
        try {
          await Promise.all([driver.run(plans, options.seconds * 1_000 * 0.85), sleep(options.seconds * 1_000)]);
        } finally {
          clearInterval(progress);
          await killer.stop();
        }
        const chaosSeconds = (Date.now() - chaosStarted.getTime()) / 1_000;
        const faultStats = (await sandbox<{ faults: Record<string, number> }>(cluster, '/__sandbox/stats')).faults;
        await sandbox(cluster, '/__sandbox/faults', { faults: null });
        for (const victim of cluster.victims) if (!victim.alive()) await cluster.restart(victim.name);
        log(`chaos over after ${chaosSeconds.toFixed(0)} s: ${killer.kills.length} kills; faults off, waiting for quiescence`);

        const quiet = await waitForQuiescence(pool, options.quiescenceMs, log);
        log(`${quiet.drained ? 'quiet and drained' : quiet.quiet ? 'payment side quiet, webhooks still queued' : 'NOT quiet'} after ${(quiet.waitedMs / 1000).toFixed(0)} s; checking`);

        // The invariants.
        const checks: Check[] = [];
        checks.push({
          name: 'quiescence',
          ok: quiet.quiet,
          detail: quiet.drained
            ? `reached in ${(quiet.waitedMs / 1000).toFixed(0)} s, every webhook delivered and handled`
            : `${quiet.quiet ? 'payment side still' : 'NOT reached'} after ${(quiet.waitedMs / 1000).toFixed(0)} s: ${quiet.openWork} open payment jobs, lagging [${quiet.lagging.join(', ')}]; ${quiet.pendingWebhooks} webhooks still queued at the sandbox`,
        });
        const streams = await foldStreams(pool);
        checks.push(...requestsMatchStreams(driver.journal, streams));
        checks.push(idempotencyHeld(driver.journal));
        checks.push(await paymentsSettled(pool, streams));
        checks.push(flowsEndedAsAsked(driver.results, driver.journal, streams));
        checks.push(...(await processorAgrees(pool, streams)));
        checks.push(await ledgerBalances(pool, streams));
        checks.push(await readModelEqualsFold(pool, streams));

        const env = cluster.commandEnv();
        const live = await readModelDigest(pool);
        const rebuild = await ledger(command, ['projections', 'rebuild'], env, 30 * 60_000);
        const rebuilt = await readModelDigest(pool);
        const differ = Object.keys(live).filter((t) => live[t] !== rebuilt[t]);
        checks.push(
          rebuild.code !== 0
            ? { name: 'read models = a fresh rebuild', ok: false, detail: `ledger projections rebuild exited ${rebuild.code}: ${rebuild.stderr.slice(-300)}` }
            : {
                name: 'read models = a fresh rebuild',
                ok: differ.length === 0,
                detail: differ.length === 0 ? `identical: ${Object.entries(live).map(([t, d]) => `${t} ${d.split(' ')[0]}`).join(', ')}` : `differ: ${differ.join(', ')}`,
                examples: differ.map((t) => `${t}: live ${live[t]} / rebuilt ${rebuilt[t]}`),
              },
        );
        const audit = await ledger(command, ['audit', 'verify'], env, 30 * 60_000);
        checks.push({ name: 'ledger audit verify', ok: audit.code === 0, detail: (audit.code === 0 ? audit.stdout : audit.stderr).trim().slice(0, 200) || `exit ${audit.code}` });
        checks.push(await reconciliationCheck(command, env, chaosStarted));
        checks.push({
          name: 'no process died on its own',
          ok: cluster.crashes.length === 0,
          detail: cluster.crashes.length === 0 ? 'every exit was one of our kills' : `${cluster.crashes.length} unexpected exits`,
          examples: cluster.crashes.map((c) => `${c.name} exit ${c.exit} at ${c.at}: ${c.output.slice(-300)}`),
        });

        // The figures.
        const kinds = ['create', 'capture', 'cancel', 'refund', 'replay', 'reuse'] as const;
        const requests = kinds.map((kind) => {
          const entries = driver.journal.filter((e) => e.kind === kind);
          const byStatus = new Map<string, number>();
          for (const e of entries) byStatus.set(String(e.status ?? 'none'), (byStatus.get(String(e.status ?? 'none')) ?? 0) + 1);
          return `${kind} ${entries.length} (${[...byStatus].map(([s, n]) => `${s}: ${n}`).join(', ')})`;
        });
        const killsBy = new Map<string, number>();
        for (const k of killer.kills) killsBy.set(k.victim, (killsBy.get(k.victim) ?? 0) + 1);
        const stats = driver.stats();
        const downs = killer.kills.map((k) => k.downMs).sort((a, b) => a - b);
        const report = summary(
          {
            seed,
            command: replay,
            lines: [
              ['payments', `${driver.results.length} flows, ${streams.size} streams (${plans.filter((p) => p.kind === 'decline').length} declines planned)`],
              ['flows by kind', [...new Set(plans.map((p) => p.kind))].sort().map((k) => `${k} ${plans.filter((p) => p.kind === k).length}`).join(', ')],
              ['chaos', `${chaosSeconds.toFixed(0)} s; quiescence ${(quiet.waitedMs / 1000).toFixed(0)} s`],
              ['kills', `${killer.kills.length}: ${[...killsBy].sort().map(([v, n]) => `${v} ${n}`).join(', ')}`],
              ['downtime per kill', downs.length ? `median ${downs[Math.floor(downs.length / 2)]} ms, max ${downs[downs.length - 1]} ms` : '-'],
              ['faults injected', Object.entries(faultStats).map(([k, n]) => `${k} ${n}`).join(', ')],
              ['requests', requests.join('; ')],
              ['client retries', `${stats.retriedSends} of ${stats.sends} sends retried (resets, timeouts, 5xx, 429); ${stats.polls} read-API polls`],
              ['flows that gave up waiting', String(driver.results.filter((r) => r.gaveUp !== null).length)],
            ],
          },
          checks,
        );
        process.stdout.write(report);
        writeFileSync(join(runDir, 'summary.txt'), report);
        if (killer.kills.length > 0) {
          writeFileSync(join(runDir, 'kills.txt'), `${table(['at ms', 'victim', 'down ms'], killer.kills.map((k) => [String(k.atMs), k.victim, String(k.downMs)]))}\n`);
        }
        const failures = checks.filter((c) => c.ok === false).map((c) => `${c.name}: ${c.detail}`);
        if (failures.length > 0) throw new Error(`chaos seed ${seed} broke ${failures.length} invariants (replay: ${replay}; logs in ${runDir}):\n${failures.join('\n')}`);
        failed = false;
      } catch (error) {
        process.stdout.write(`\nchaos FAILED with seed ${options.seed}; logs in ${runDir}\n`);
        throw error;
      } finally {
        await cluster?.stop();
        await pool.end();
        await dropQueue(redisUrl, queueName).catch((error: unknown) => log(`could not remove the queue from Redis: ${String(error)}`));
        if (options.keep || (failed && process.env.CHAOS_KEEP_ON_FAILURE === '1')) {
          log(`database kept: ${database.url}`);
        } else {
          await database.drop();
        }
      }
    },
    budgetMs,
  );
});
