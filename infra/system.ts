import type { Server } from 'node:http';
import type { Config } from './config';
import type { Database } from './database';
import { openDatabase } from './database';
import { createLogger } from './logger';
import { createPostgresEventStore } from './event-store/postgres-event-store';
import { createEventStoreDbEventStore, eventStoreDbClient } from './event-store/eventstoredb-event-store';
import { systemTelemetry } from './telemetry';
import { PROJECTIONS } from '../projections';
import { sagaPaymentsProjection, sagaWebhooksProjection } from '../processes/saga-work';
import { postgresApiKeys } from './auth/api-keys';
import { createWriteApi } from '../write-api/app';
import { startReadSide } from './read-side';
import { startProcesses } from './processes';
import { stripeSettings } from './stripe/settings';
import { createStripeSandbox } from './stripe-sandbox';
import IORedis from 'ioredis';
import type { SecurityOptions } from './http/security';
import { hardenServer, parseOrigins } from './http/security';

export type Role = 'all' | 'write-api' | 'read-api' | 'processes' | 'projections' | 'stripe-sandbox';
export const ROLES: readonly Role[] = ['all', 'write-api', 'read-api', 'processes', 'projections', 'stripe-sandbox'];

export interface RunningSystem {
  readonly urls: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/** The composition root: every adapter is chosen and wired here, and nowhere else. */
export async function startSystem(config: Config, role: Role): Promise<RunningSystem> {
  const log = createLogger(config.LOG_LEVEL, role);
  const database = await openDatabase(config, (line) => log.debug(line, { part: 'postgres' }));
  const telemetry = systemTelemetry({
    role,
    pool: database.pool,
    // EventStoreDB when configured; the Postgres event store otherwise. Checkpoints, read models
    // and the saga's work rows stay in Postgres either way.
    store: config.EVENTSTORE_URL ? createEventStoreDbEventStore(eventStoreDbClient(config.EVENTSTORE_URL)) : createPostgresEventStore(database.pool),
    externalEventStore: config.EVENTSTORE_URL !== undefined,
    log: (level, message, meta) => log.log(level, message, meta),
    redisUrl: config.REDIS_URL,
    checkTimeoutMs: config.READYZ_TIMEOUT_MS,
    host: config.HOST,
    processesPort: config.PROCESSES_METRICS_PORT,
    projectionsPort: config.PROJECTIONS_METRICS_PORT,
    sagaProjections: [sagaPaymentsProjection, sagaWebhooksProjection],
    readModelProjections: PROJECTIONS,
  });
  const store = telemetry.store;
  const apiKeys = postgresApiKeys(database.pool);
  const stripe = stripeSettings(config);
  const stops: (() => Promise<void>)[] = [];
  const urls: Record<string, string> = { database: database.description };
  const runs = (part: Role) => role === 'all' || role === part;
  const apiSecurity = (api: 'write' | 'read'): SecurityOptions => {
    // One client for the rate-limit counters, so that every instance of an API shares them.
    let redis: IORedis | undefined;
    if (config.REDIS_URL) {
      const client = new IORedis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
      client.on('error', (error) => log.warn('rate-limit Redis error', { error }));
      stops.push(async () => void client.disconnect());
      redis = client;
    }
    return {
      rateLimit: {
        perKey: config.RATE_LIMIT_PER_KEY,
        failedAuthPerClient: config.RATE_LIMIT_FAILED_AUTH,
        windowMs: config.RATE_LIMIT_WINDOW_MS,
        prefix: `ledger:${api}`,
        ...(redis ? { redis } : {}),
      },
      corsOrigins: parseOrigins(config.CORS_ORIGINS),
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      log: (level, message, meta) => log.log(level, message, meta),
    };
  };

  if (runs('write-api')) {
    const app = createWriteApi({
      store,
      apiKeys,
      clock: () => new Date(),
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      logError: (message, error) => log.error(message, { error }),
      security: apiSecurity('write'),
      operations: telemetry.api('write'),
      reconciliation: { pool: database.pool },
      ...(stripe.webhookSecrets.length > 0 ? { webhooks: { secrets: stripe.webhookSecrets } } : {}),
    });
    const server = await listen(app, config.WRITE_API_PORT, config.HOST);
    hardenServer(server, { requestTimeoutMs: config.REQUEST_TIMEOUT_MS });
    stops.push(() => close(server));
    urls['write-api'] = `http://${config.HOST}:${portOf(server)}`;
  }

  if (runs('read-api') || runs('projections')) {
    const readSide = await startReadSide({
      pool: database.pool,
      store,
      apiKeys,
      host: config.HOST,
      port: config.READ_API_PORT,
      log,
      api: runs('read-api'),
      projections: runs('projections'),
      ...(runs('read-api') ? { security: apiSecurity('read'), operations: telemetry.api('read') } : {}),
      observe: telemetry.observeProjection,
    });
    if (runs('projections')) telemetry.watchReadModels();
    stops.push(() => readSide.stop());
    if (readSide.url) urls['read-api'] = readSide.url;
  }

  if (runs('stripe-sandbox') && stripe.useSandbox) {
    urls['stripe-sandbox'] = await startSandbox(config, database, stripe.webhookSecrets[0]!, log, stops);
  }

  if (runs('processes')) {
    const processes = await startProcesses({
      pool: database.pool,
      databaseUrl: database.url,
      store,
      redisUrl: config.REDIS_URL,
      stripe: stripe.client,
      queueName: config.SAGA_QUEUE,
      concurrency: config.SAGA_CONCURRENCY,
      stuckAfterMs: config.SAGA_STUCK_AFTER_MS,
      janitorEveryMs: config.SAGA_JANITOR_EVERY_MS,
      reconciliation: { cron: config.RECONCILIATION_CRON === 'off' ? null : config.RECONCILIATION_CRON },
      log: (level, message, meta) => log.log(level, message, meta),
      ...telemetry.sagaHooks,
    });
    telemetry.watchProcesses(processes);
    stops.push(() => processes.stop());
    urls.processes = `saga on BullMQ (${processes.backend}), Stripe ${stripe.useSandbox ? 'sandbox' : 'API'}`;
  }

  for (const { name, server } of await telemetry.startOperationsServers()) {
    stops.push(() => server.stop());
    urls[name] = server.url;
  }

  return {
    urls,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch((error: unknown) => log.error('stop failed', { error }));
      telemetry.close();
      await store.close();
      await database.close();
    },
  };
}

async function startSandbox(
  config: Config,
  database: Database,
  webhookSecret: string,
  log: ReturnType<typeof createLogger>,
  stops: (() => Promise<void>)[],
): Promise<string> {
  const webhookUrl = config.STRIPE_SANDBOX_WEBHOOK_URL ?? `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.WRITE_API_PORT}/v1/webhooks/stripe`;
  const sandbox = createStripeSandbox({
    pool: database.pool,
    webhook: { url: webhookUrl, secret: webhookSecret },
    log: { info: (m, meta) => log.debug(m, meta), warn: (m, meta) => log.warn(m, meta), error: (m, meta) => log.error(m, meta) },
  });
  const { port } = await sandbox.listen(config.STRIPE_SANDBOX_PORT, config.HOST);
  stops.push(() => sandbox.close());
  return `http://${config.HOST}:${port}`;
}

function listen(app: { listen: (port: number, host: string, callback: () => void) => Server }, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
