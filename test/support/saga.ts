import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Pool } from 'pg';
import type { EventStore } from '../../ports/event-store';
import type { PaymentState } from '../../domain/payment.state';
import { migrate } from '../../infra/postgres/migrate';
import { createPostgresEventStore } from '../../infra/event-store/postgres-event-store';
import { createApiKey, postgresApiKeys } from '../../infra/auth/api-keys';
import { createWriteApi } from '../../write-api/app';
import { createStripeSandbox } from '../../infra/stripe-sandbox';
import type { FaultConfig, StripeSandbox } from '../../infra/stripe-sandbox';
import { startProcesses } from '../../infra/processes';
import type { ProcessesOptions, RunningProcesses } from '../../infra/processes';
import { loadPayment } from '../../commands/payment-stream';
import { isolatedDatabase } from './postgres';

process.env.STRIPE_SUPPRESS_NOTICES = 'true';

export type Backend = 'postgres' | 'redis';

/** Queue backends this run can test: Postgres always; Redis where the run was given one. */
export function sagaBackends(): Backend[] {
  return process.env.TEST_REDIS_URL ? ['postgres', 'redis'] : ['postgres'];
}

export interface SagaHarness {
  readonly pool: Pool;
  readonly store: EventStore;
  readonly databaseUrl: string;
  readonly writeUrl: string;
  readonly sandboxUrl: string;
  readonly webhookSecret: string;
  readonly key: string;
  readonly queueName: string;
  processes: RunningProcesses;
  readonly sandbox: StripeSandbox;
  post(path: string, body: unknown, idempotencyKey?: string): Promise<{ status: number; body: any; headers: Headers }>;
  createPayment(overrides?: Record<string, unknown>, idempotencyKey?: string): Promise<string>;
  waitFor(paymentId: string, until: (state: PaymentState) => boolean, timeoutMs?: number): Promise<PaymentState>;
  admin<T = any>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
  startProcesses(overrides?: Partial<ProcessesOptions>): Promise<RunningProcesses>;
  close(): Promise<void>;
}

export interface SagaHarnessOptions {
  readonly backend: Backend;
  readonly faults?: FaultConfig;
  readonly processes?: Partial<ProcessesOptions>;
  /** Leave the processes role to the test (it runs them in another OS process, say). */
  readonly withoutProcesses?: boolean;
}

/**
 * The whole saga on one database of its own: write API with webhook intake, the stripe-sandbox
 * delivering webhooks to it, and the processes role, over real HTTP and the real SDK.
 */
export async function startSaga(options: SagaHarnessOptions): Promise<SagaHarness> {
  const dbg = (m: string) => process.env.SAGA_DEBUG && console.log(`[saga] ${m}`);
  const database = await isolatedDatabase('saga');
  dbg('db');
  const pool = new Pool({ connectionString: database.url, max: 40 });
  await migrate(pool);
  dbg('migrated');
  const store = createPostgresEventStore(pool);
  const webhookSecret = `whsec_${randomBytes(18).toString('base64url')}`;
  const writeApp = createWriteApi({
    store,
    apiKeys: postgresApiKeys(pool),
    clock: () => new Date(),
    bodyLimitBytes: 65_536,
    logError: (message, error) => console.error(message, error),
    webhooks: { secrets: [webhookSecret] },
  });
  const writeServer: Server = await new Promise((resolve) => {
    const server = writeApp.listen(0, '127.0.0.1', () => resolve(server));
  });
  const writeUrl = `http://127.0.0.1:${(writeServer.address() as { port: number }).port}`;
  const sandbox = createStripeSandbox({
    pool,
    webhook: { url: `${writeUrl}/v1/webhooks/stripe`, secret: webhookSecret, pollMs: 50, retryBaseMs: 100, maxRetryDelayMs: 1000 },
    ...(options.faults ? { faults: options.faults } : {}),
  });
  const { port: sandboxPort } = await sandbox.listen(0, '127.0.0.1');
  dbg('sandbox');
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const { key } = await createApiKey(pool, { merchantId: `m_${randomUUID().slice(0, 8)}`, scopes: ['payments:write', 'payments:read'] });
  const queueName = `saga-${randomUUID().slice(0, 8)}`;

  const processOptions = (overrides: Partial<ProcessesOptions> = {}): ProcessesOptions => ({
    pool,
    databaseUrl: database.url,
    store,
    redisUrl: options.backend === 'redis' ? process.env.TEST_REDIS_URL : undefined,
    stripe: { secretKey: 'sk_test_saga', sandbox: { host: '127.0.0.1', port: sandboxPort }, timeoutMs: 1500 },
    queueName,
    concurrency: 16,
    retry: { baseDelayMs: 50, maxDelayMs: 1000, attempts: 60 },
    stuckAfterMs: 5_000,
    janitorEveryMs: 1_000,
    log: (level, message, meta) => dbg(`${level} ${message} ${JSON.stringify(meta ?? {})}`),
    onResult: (job, result) => dbg(`job ${job.name} -> ${result}`),
    ...options.processes,
    ...overrides,
  });

  const harness: SagaHarness = {
    pool,
    store,
    databaseUrl: database.url,
    writeUrl,
    sandboxUrl,
    webhookSecret,
    key,
    queueName,
    sandbox,
    processes: undefined as unknown as RunningProcesses,
    async post(path, body, idempotencyKey = randomUUID()) {
      const response = await fetch(`${writeUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json(), headers: response.headers };
    },
    async createPayment(overrides = {}, idempotencyKey = randomUUID()) {
      const response = await harness.post(
        '/v1/payments',
        { amount: 2000, currency: 'usd', customer_id: 'cus_saga', payment_method: 'pm_card_visa', ...overrides },
        idempotencyKey,
      );
      if (response.status !== 202) throw new Error(`create answered ${response.status}: ${JSON.stringify(response.body)}`);
      return response.body.id as string;
    },
    async waitFor(paymentId, until, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { state } = await loadPayment(store, paymentId);
        if (until(state)) return state;
        if (Date.now() > deadline) {
          const work = await pool.query('select job_id, dispatched_at, dispatch_count from saga_work');
          const checkpoints = await pool.query('select * from projection_checkpoints');
          throw new Error(`payment ${paymentId} did not get there in ${timeoutMs} ms; it is ${JSON.stringify(state)}; open work ${JSON.stringify(work.rows)}; checkpoints ${JSON.stringify(checkpoints.rows)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async admin(path, init = {}) {
      const response = await fetch(`${sandboxUrl}${path}`, {
        method: init.method ?? 'GET',
        headers: { 'content-type': 'application/json' },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      return (await response.json()) as never;
    },
    async startProcesses(overrides = {}) {
      harness.processes = await startProcesses(processOptions(overrides));
      return harness.processes;
    },
    async close() {
      await harness.processes?.stop();
      await sandbox.close();
      await new Promise<void>((resolve) => {
        writeServer.close(() => resolve());
        writeServer.closeAllConnections();
      });
      await pool.end();
      await database.drop();
    },
  };
  if (!options.withoutProcesses) await harness.startProcesses();
  dbg('processes');
  return harness;
}

export const terminal = (state: PaymentState): boolean =>
  state.status === 'captured' || state.status === 'failed' || state.status === 'canceled' || state.status === 'refunded';

export interface ProcessorCounts {
  readonly intents: number;
  /** Balance transactions of the charge itself: one per capture that happened. */
  readonly captures: number;
  readonly refunds: number;
}

/** What the sandbox holds per ledger payment id, read straight from its tables. */
export async function processorCounts(pool: Pool): Promise<Map<string, ProcessorCounts>> {
  const { rows } = await pool.query<{ id: string; object: string; data: any }>(
    "select id, object, data from stripe_sandbox.objects where object in ('payment_intent', 'charge', 'balance_transaction', 'refund')",
  );
  const paymentOfIntent = new Map<string, string>();
  const intentOfCharge = new Map<string, string>();
  for (const row of rows) {
    if (row.object === 'payment_intent') paymentOfIntent.set(row.id, row.data.metadata?.payment_id ?? '');
    if (row.object === 'charge') intentOfCharge.set(row.id, row.data.payment_intent);
  }
  const counts = new Map<string, { intents: number; captures: number; refunds: number }>();
  const bump = (paymentId: string | undefined, field: 'intents' | 'captures' | 'refunds') => {
    if (!paymentId) return;
    const entry = counts.get(paymentId) ?? { intents: 0, captures: 0, refunds: 0 };
    entry[field] += 1;
    counts.set(paymentId, entry);
  };
  for (const row of rows) {
    if (row.object === 'payment_intent') bump(paymentOfIntent.get(row.id), 'intents');
    if (row.object === 'balance_transaction' && row.data.reporting_category === 'charge') {
      bump(paymentOfIntent.get(intentOfCharge.get(row.data.source) ?? ''), 'captures');
    }
    if (row.object === 'refund') bump(paymentOfIntent.get(row.data.payment_intent), 'refunds');
  }
  return counts;
}
