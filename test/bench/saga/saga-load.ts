// The subject: the Stripe saga from `requested` to `captured`, run in a process of its own (see
// inFreshProcess) the way test/support/saga.ts composes it: the write API with webhook intake, the
// stripe-sandbox delivering webhooks to it, and the processes role, over real HTTP and the real SDK.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Pool } from 'pg';
import { migrate } from '../../../infra/postgres/migrate';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { createApiKey, postgresApiKeys } from '../../../infra/auth/api-keys';
import { createWriteApi } from '../../../write-api/app';
import { createStripeSandbox } from '../../../infra/stripe-sandbox';
import { startProcesses } from '../../../infra/processes';
import type { SagaJob } from '../../../processes/jobs';
import type { HandlerResult } from '../../../processes/handlers/context';

export interface SagaLoadArgs {
  readonly databaseUrl: string;
  readonly redisUrl: string | null;
  /** Payments created one at a time before the load: the unloaded lifecycle latency, and a warm-up. */
  readonly solo: number;
  /** Payments offered at once, as fast as the write API takes them. */
  readonly payments: number;
  /** Create requests in flight at a time. */
  readonly clients: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export interface SagaLoadResult {
  /** payments / (last PaymentCaptured recorded - first create sent). */
  readonly paymentsPerSecond: number;
  /** Per payment: create request sent to PaymentCaptured recorded, in ms. */
  readonly latenciesMs: number[];
  readonly soloLatenciesMs: number[];
  /** Seconds from the first create sent to the last create answered. */
  readonly submitSeconds: number;
  /** Seconds from the first create sent to the last PaymentCaptured. */
  readonly capturedSeconds: number;
  /** Jobs each payment gives the queue: its authorization and one per Stripe event it caused. */
  readonly jobsPerPayment: number;
  /** Jobs on the way to captured: those whose facts moved a payment to authorized and captured. */
  readonly pathJobsPerPayment: number;
  /** Saga jobs completed by the time the driver saw every payment captured, by job name. */
  readonly jobsByCapture: Record<string, number>;
  /** Job attempts that ended in a retry during the load. */
  readonly retries: number;
}

interface Running {
  readonly pool: Pool;
  createPayment(amount: number): Promise<{ id: string; sentAt: number }>;
  /** Job results since the last call, then forgets them. */
  takeResults(): { completed: Map<SagaJob['name'], number>; retries: number };
  stop(): Promise<void>;
}

/** DB_POOL_SIZE's default: the one pool of `npm start`, shared by every part of the process. */
export const DB_POOL = 20;

/** How often the driver looks for captures; the times themselves come from the events. */
const POLL_MS = 100;

async function startSystem(args: SagaLoadArgs): Promise<Running> {
  const pool = new Pool({ connectionString: args.databaseUrl, max: DB_POOL });
  await migrate(pool);
  const store = createPostgresEventStore(pool);
  const webhookSecret = `whsec_${randomBytes(18).toString('base64url')}`;
  const writeApp = createWriteApi({
    store,
    apiKeys: postgresApiKeys(pool),
    clock: () => new Date(),
    bodyLimitBytes: 65_536,
    logError: (message, error) => console.error(message, error),
    // The per-key limit (100/s averaged) would cap the load at the limit, not at the saga.
    security: { rateLimit: { perKey: 1_000_000 } },
    webhooks: { secrets: [webhookSecret] },
  });
  const writeServer: Server = await new Promise((resolve) => {
    const server = writeApp.listen(0, '127.0.0.1', () => resolve(server));
  });
  const writeUrl = `http://127.0.0.1:${(writeServer.address() as { port: number }).port}`;
  // The sandbox's own delivery settings (a pass every 250 ms, one webhook at a time), as `npm start` runs it.
  const sandbox = createStripeSandbox({ pool, webhook: { url: `${writeUrl}/v1/webhooks/stripe`, secret: webhookSecret } });
  const { port: sandboxPort } = await sandbox.listen(0, '127.0.0.1');
  const { key } = await createApiKey(pool, { merchantId: 'bench_saga', scopes: ['payments:write'] });

  let completed = new Map<SagaJob['name'], number>();
  let retries = 0;
  const onResult = (job: SagaJob, result: HandlerResult | 'retry' | 'waiting') => {
    if (result === 'retry' || result === 'waiting') retries += 1;
    else completed.set(job.name, (completed.get(job.name) ?? 0) + 1);
  };
  const processes = await startProcesses({
    pool,
    databaseUrl: args.databaseUrl,
    store,
    redisUrl: args.redisUrl ?? undefined,
    stripe: { secretKey: 'sk_test_bench', sandbox: { host: '127.0.0.1', port: sandboxPort } },
    queueName: `bench-saga-${randomUUID().slice(0, 8)}`,
    concurrency: args.concurrency,
    log: (level, message, meta) => {
      if (level !== 'info') console.error(`[saga] ${level} ${message} ${JSON.stringify(meta ?? {})}`);
    },
    onResult,
  });

  return {
    pool,
    async createPayment(amount) {
      const sentAt = Date.now();
      const response = await fetch(`${writeUrl}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
        body: JSON.stringify({ amount, currency: 'usd', customer_id: 'cus_bench', payment_method: 'pm_card_visa' }),
      });
      const body = (await response.json()) as { id: string };
      if (response.status !== 202) throw new Error(`create answered ${response.status}: ${JSON.stringify(body)}`);
      return { id: body.id, sentAt };
    },
    takeResults() {
      const taken = { completed, retries };
      completed = new Map();
      retries = 0;
      return taken;
    },
    async stop() {
      await processes.stop();
      await sandbox.close();
      await new Promise<void>((resolve) => {
        writeServer.close(() => resolve());
        writeServer.closeAllConnections();
      });
      await pool.end();
    },
  };
}

const streamsOf = (paymentIds: readonly string[]) => paymentIds.map((id) => `payment-${id}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** When each of these payments was captured (its PaymentCaptured's recorded_at), once all are. */
async function waitForCaptures(pool: Pool, paymentIds: readonly string[], timeoutMs: number): Promise<Map<string, number>> {
  const streams = streamsOf(paymentIds);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ captured: number; failed: number }>(
      `select count(*) filter (where type = 'PaymentCaptured')::int as captured, count(*) filter (where type = 'PaymentFailed')::int as failed
         from events where stream_id = any($1)`,
      [streams],
    );
    if (rows[0]!.failed > 0) throw new Error(`${rows[0]!.failed} payments failed; pm_card_visa should always be captured`);
    if (rows[0]!.captured === streams.length) break;
    if (Date.now() > deadline) throw new Error(`only ${rows[0]!.captured} of ${streams.length} payments captured within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
  const { rows } = await pool.query<{ stream_id: string; recorded_at: Date }>(
    "select stream_id, recorded_at from events where type = 'PaymentCaptured' and stream_id = any($1)",
    [streams],
  );
  return new Map(rows.map((row) => [row.stream_id.slice('payment-'.length), row.recorded_at.getTime()]));
}

/**
 * Waits until the sandbox has delivered every webhook, every Stripe event stored has been processed
 * and no saga work is open. A job deletes its work row just before it reports its result, so the
 * last results are given one more poll to arrive.
 */
async function waitForQuiet(pool: Pool, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ open: number }>(
      `select (select count(*) from saga_work)::int
            + (select count(*) from stripe_sandbox.webhook_outbox where delivered_at is null and abandoned_at is null)::int
            + (select count(*) filter (where type = 'StripeEventReceived') - count(*) filter (where type = 'StripeEventProcessed')
                 from events where stream_id like 'stripe-event-%')::int as open`,
    );
    if (rows[0]!.open === 0) {
      await sleep(POLL_MS);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${rows[0]!.open} saga work rows, webhooks or Stripe events still open after ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

/**
 * Every fact a job records names the job as its causation, so the jobs that took these payments
 * to captured are the distinct causations of their PaymentAuthorized and PaymentCaptured events.
 */
async function pathJobs(pool: Pool, paymentIds: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ jobs: number }>(
    `select count(distinct (stream_id, metadata ->> 'causation_id'))::int as jobs
       from events where stream_id = any($1) and type in ('PaymentAuthorized', 'PaymentCaptured')`,
    [streamsOf(paymentIds)],
  );
  return rows[0]!.jobs;
}

async function stripeEvents(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from stripe_sandbox.objects where object = 'event'");
  return rows[0]!.n;
}

async function inParallel<T>(count: number, limit: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await work(index);
      }
    }),
  );
  return results;
}

/** One payment at a time, each waited for: the lifecycle latency with nothing else in the way. */
async function soloLatencies(system: Running, count: number, timeoutMs: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const created = await system.createPayment(1000 + i);
    const captured = await waitForCaptures(system.pool, [created.id], timeoutMs);
    latencies.push(captured.get(created.id)! - created.sentAt);
  }
  return latencies;
}

/**
 * Measures up to the last capture and no further: the webhook jobs of the last payments run after
 * it (the sandbox delivers webhooks one at a time), and `jobsByCapture` says how many had run.
 */
export async function runSagaLoad(args: SagaLoadArgs): Promise<SagaLoadResult> {
  const system = await startSystem(args);
  try {
    const soloLatenciesMs = await soloLatencies(system, args.solo, args.timeoutMs);
    await waitForQuiet(system.pool, args.timeoutMs);
    system.takeResults();
    const eventsBefore = await stripeEvents(system.pool);

    const startedAt = Date.now();
    const created = await inParallel(args.payments, args.clients, (i) => system.createPayment(2000 + i));
    const submittedAt = Date.now();
    const ids = created.map((payment) => payment.id);
    const captured = await waitForCaptures(system.pool, ids, args.timeoutMs);
    const lastCaptured = Math.max(...captured.values());
    const { completed, retries } = system.takeResults();
    return {
      paymentsPerSecond: args.payments / ((lastCaptured - startedAt) / 1000),
      latenciesMs: created.map((payment) => captured.get(payment.id)! - payment.sentAt),
      soloLatenciesMs,
      submitSeconds: (submittedAt - startedAt) / 1000,
      capturedSeconds: (lastCaptured - startedAt) / 1000,
      jobsPerPayment: (args.payments + (await stripeEvents(system.pool)) - eventsBefore) / args.payments,
      pathJobsPerPayment: (await pathJobs(system.pool, ids)) / args.payments,
      jobsByCapture: Object.fromEntries(completed),
      retries,
    };
  } finally {
    await system.stop();
  }
}
