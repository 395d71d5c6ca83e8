// The Stripe saga from `requested` to `captured` against BullMQ alone on the same backend: payments/s
// through the whole system set against raw jobs/s of an empty handler, per job a payment needs to be captured.
import { resolve } from 'node:path';
import { version as bullmqVersion } from 'bullmq/package.json';
import type { BenchContext, BenchRow, Benchmark } from '../harness';
import { compare, inFreshProcess, latency } from '../harness';
import { DB_POOL, type SagaLoadArgs, type SagaLoadResult } from './saga-load';
import type { RawBullmqArgs, RawBullmqResult } from './raw-bullmq';

type Backend = 'postgres' | 'redis';

const ID = 'saga';
const GOAL = 0.8;
/** The saga's default (SAGA_CONCURRENCY) and the raw worker's. */
const CONCURRENCY = 16;
/** The dispatcher's batch: at most this many work rows per addBulk. */
const DISPATCH_BATCH = 200;

interface Sizes {
  readonly solo: number;
  readonly payments: number;
  readonly clients: number;
  readonly rawJobs: number;
  readonly rawWarmupJobs: number;
  readonly timeoutMs: number;
}

const SMOKE: Sizes = { solo: 3, payments: 20, clients: 8, rawJobs: 400, rawWarmupJobs: 100, timeoutMs: 60_000 };
const FULL: Sizes = { solo: 20, payments: 1500, clients: 32, rawJobs: 10_000, rawWarmupJobs: 1_000, timeoutMs: 180_000 };

const label = (backend: Backend) => (backend === 'postgres' ? 'PostgreSQL' : 'Redis');
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function measure(ctx: BenchContext, backend: Backend, sizes: Sizes): Promise<BenchRow> {
  const redisUrl = backend === 'redis' ? ctx.redisUrl : null;
  const sagaDb = await ctx.freshDatabase(`${backend}_saga`);
  const rawDb = await ctx.freshDatabase(`${backend}_raw`);
  try {
    ctx.log(`${backend}: ${sizes.payments} payments through the saga`);
    const sagaArgs: SagaLoadArgs = {
      databaseUrl: sagaDb.url,
      redisUrl,
      solo: sizes.solo,
      payments: sizes.payments,
      clients: sizes.clients,
      concurrency: CONCURRENCY,
      timeoutMs: sizes.timeoutMs,
    };
    const saga = await inFreshProcess<SagaLoadResult>(resolve(__dirname, 'saga-load.ts'), 'runSagaLoad', sagaArgs);
    ctx.log(`${backend}: ${sizes.rawJobs} raw BullMQ jobs`);
    const rawArgs: RawBullmqArgs = {
      databaseUrl: rawDb.url,
      redisUrl,
      warmupJobs: sizes.rawWarmupJobs,
      jobs: sizes.rawJobs,
      concurrency: CONCURRENCY,
      batch: DISPATCH_BATCH,
      timeoutMs: sizes.timeoutMs,
    };
    const raw = await inFreshProcess<RawBullmqResult>(resolve(__dirname, 'raw-bullmq.ts'), 'runRawBullmq', rawArgs);
    return row(backend, sizes, saga, raw);
  } finally {
    await sagaDb.drop();
    await rawDb.drop();
  }
}

/**
 * The goal's ratio sets payments/s against raw jobs/s per job on the way to captured (one: the
 * authorize job records the authorization and the automatic capture together). Each payment also
 * gives the queue one webhook job per Stripe event; those run mostly after the last capture, so
 * they are reported beside the ratio rather than counted in it, where they would flatter the saga.
 */
function row(backend: Backend, sizes: Sizes, saga: { result: SagaLoadResult; peakRssMb: number }, raw: { result: RawBullmqResult; peakRssMb: number }): BenchRow {
  const s = saga.result;
  const path = s.pathJobsPerPayment;
  const all = s.jobsPerPayment;
  const rawJobsPerSecond = raw.result.jobsPerSecond;
  const webhooksByCapture = s.jobsByCapture.webhook ?? 0;
  const solo = latency(s.soloLatenciesMs);
  return compare({
    benchmark: ID,
    case: `${sizes.payments} payments, BullMQ on ${label(backend)}, concurrency ${CONCURRENCY}`,
    subject: {
      name: `ledger saga (BullMQ ${label(backend)})`,
      value: s.paymentsPerSecond,
      unit: 'payments/s',
      latency: latency(s.latenciesMs),
      peakRssMb: saga.peakRssMb,
      note: 'payments / (last PaymentCaptured recorded_at - first create sent); latency: create request sent to PaymentCaptured recorded_at',
    },
    baseline: {
      name: `raw BullMQ ${bullmqVersion} (${label(backend)}), empty handler`,
      value: rawJobsPerSecond / path,
      unit: `${round(path)}-job chains/s`,
      latency: latency(raw.result.latenciesMs),
      peakRssMb: raw.peakRssMb,
      note: `${Math.round(rawJobsPerSecond)} jobs/s divided by the ${round(path)} job(s) a payment needs to be captured; latency: per job, added to completed`,
    },
    goal: GOAL,
    settings: {
      backend,
      payments: sizes.payments,
      createClients: sizes.clients,
      concurrency: CONCURRENCY,
      dbPool: DB_POOL,
      rawJobs: sizes.rawJobs,
      rawBatch: DISPATCH_BATCH,
      pathJobsPerPayment: round(path),
      jobsPerPayment: round(all),
      rawJobsPerSecond: Math.round(rawJobsPerSecond),
    },
    notes: [
      `jobs per payment on the way to captured: ${round(path)} (authorize records the authorization and the automatic capture together); the goal's ratio is payments/s against raw jobs/s per that many jobs`,
      `each payment also gives the queue ${round(all - 1)} webhook jobs (one per Stripe event); ${webhooksByCapture} of ${Math.round((all - 1) * sizes.payments)} had run when every payment was seen captured (the sandbox delivers webhooks one at a time), the rest ran after the window`,
      `counted as ${round(all)} jobs per payment, the baseline would be ${Math.round(rawJobsPerSecond / all)} ${round(all)}-job groups/s and the ratio ${round(s.paymentsPerSecond / (rawJobsPerSecond / all))}, which assumes work the window did not contain`,
      `creates answered in ${round(s.submitSeconds, 1)} s, all captured at ${round(s.capturedSeconds, 1)} s; job attempts retried: ${s.retries}`,
      `one payment at a time (${solo.count}): p50 ${Math.round(solo.p50)} ms, max ${Math.round(solo.max)} ms from create sent to captured`,
      'subject process: write API, stripe-sandbox, processes role and the load client; baseline process: the queue, one worker and the producer',
    ],
  });
}

/** A Redis row that says it did not run, rather than no row at all, so the table shows the gap. */
function notRun(sizes: Sizes): BenchRow {
  return compare({
    benchmark: ID,
    case: `${sizes.payments} payments, BullMQ on Redis: not run (no Redis)`,
    subject: { name: 'ledger saga (BullMQ Redis)', value: 0, unit: 'payments/s', note: 'not run: no Redis' },
    baseline: null,
    settings: { backend: 'redis' },
    notes: ['not run: no Redis reachable (BENCH_REDIS_URL)'],
  });
}

export const benchmark: Benchmark = {
  id: ID,
  title: 'Stripe saga, requested to captured, against raw BullMQ',
  async run(ctx) {
    const sizes = ctx.smoke ? SMOKE : FULL;
    const rows = [await measure(ctx, 'postgres', sizes)];
    rows.push(ctx.redisUrl ? await measure(ctx, 'redis', sizes) : notRun(sizes));
    return rows;
  },
};
