import type { Server } from 'node:http';
import type { Config } from './config';
import type { Database } from './database';
import { openDatabase } from './database';
import { createLogger } from './logger';
import { createPostgresEventStore } from './event-store/postgres-event-store';
import { postgresApiKeys } from './auth/api-keys';
import { createWriteApi } from '../write-api/app';
import { startReadSide } from './read-side';
import { startProcesses } from './processes';
import { stripeSettings } from './stripe/settings';
import { createStripeSandbox } from './stripe-sandbox';

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
  const store = createPostgresEventStore(database.pool);
  const apiKeys = postgresApiKeys(database.pool);
  const stripe = stripeSettings(config);
  const stops: (() => Promise<void>)[] = [];
  const urls: Record<string, string> = { database: database.description };
  const runs = (part: Role) => role === 'all' || role === part;

  if (runs('write-api')) {
    const app = createWriteApi({
      store,
      apiKeys,
      clock: () => new Date(),
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      logError: (message, error) => log.error(message, { error }),
      ...(stripe.webhookSecrets.length > 0 ? { webhooks: { secrets: stripe.webhookSecrets } } : {}),
    });
    const server = await listen(app, config.WRITE_API_PORT, config.HOST);
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
    });
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
      log: (level, message, meta) => log.log(level, message, meta),
    });
    stops.push(() => processes.stop());
    urls.processes = `saga on BullMQ (${processes.backend}), Stripe ${stripe.useSandbox ? 'sandbox' : 'API'}`;
  }

  return {
    urls,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch((error: unknown) => log.error('stop failed', { error }));
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
