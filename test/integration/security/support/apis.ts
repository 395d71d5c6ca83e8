import { Agent, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { Pool } from 'pg';
import type { EventStore } from '../../../../ports/event-store';
import type { Scope } from '../../../../ports/api-keys';
import type { SecurityOptions } from '../../../../infra/http/security';
import { migrate } from '../../../../infra/postgres/migrate';
import { createPostgresEventStore } from '../../../../infra/event-store/postgres-event-store';
import { createApiKey, postgresApiKeys } from '../../../../infra/auth/api-keys';
import { createWriteApi } from '../../../../write-api/app';
import { createReadApi } from '../../../../read-api/app';
import { createCheckpointWatcher } from '../../../../read-api/checkpoint-watcher';
import type { ProjectionRunner } from '../../../../projections';
import { PROJECTIONS, startProjectionRunner } from '../../../../projections';
import { testPool } from '../../../support/postgres';
import type { LogCapture } from '../../../support/log-capture';
import { captureLogs } from '../../../support/log-capture';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The parsed body when it is JSON, else undefined. */
  readonly json: any;
}

export interface Call {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

export interface SecureApis {
  readonly pool: Pool;
  readonly store: EventStore;
  readonly writeUrl: string;
  readonly readUrl: string;
  readonly logs: LogCapture;
  readonly webhookSecrets: readonly string[];
  newKey(merchantId: string, scopes?: Scope[]): Promise<{ key: string; id: string }>;
  write(call: Call): Promise<Reply>;
  read(call: Call): Promise<Reply>;
  close(): Promise<void>;
}

export interface SecureApisOptions {
  readonly security?: SecurityOptions;
  readonly readSecurity?: SecurityOptions;
  readonly webhookSecrets?: readonly string[];
  /** Run the projections, so that the read models follow the writes; default false. */
  readonly runners?: boolean;
  /** Replaces the Postgres event store behind the write API (to make it fail, say). */
  readonly writeStore?: EventStore;
  readonly bodyLimitBytes?: number;
}

/**
 * The write API and the read API, built the way the composition root builds them, with their
 * logs captured through the production format; servers on port 0, over keep-alive connections.
 */
export async function startSecureApis(options: SecureApisOptions = {}): Promise<SecureApis> {
  const pool = testPool(30);
  await migrate(pool);
  const store = createPostgresEventStore(pool);
  const logs = captureLogs('security-test');
  const apiKeys = postgresApiKeys(pool);
  const writeApp = createWriteApi({
    store: options.writeStore ?? store,
    apiKeys,
    clock: () => new Date(),
    bodyLimitBytes: options.bodyLimitBytes ?? 65_536,
    logError: logs.logError,
    security: { log: logs.log, ...options.security },
    reconciliation: { pool },
    ...(options.webhookSecrets ? { webhooks: { secrets: options.webhookSecrets } } : {}),
  });
  const checkpoints = createCheckpointWatcher(pool, 10);
  const readApp = createReadApi({
    pool,
    store,
    apiKeys,
    checkpoints,
    minPositionTimeoutMs: 50,
    logError: logs.logError,
    security: { log: logs.log, ...(options.readSecurity ?? options.security) },
  });
  const writeServer = await listen(writeApp);
  const readServer = await listen(readApp);
  const runners: ProjectionRunner[] = options.runners
    ? PROJECTIONS.map((projection) =>
        startProjectionRunner(pool, store, projection, {
          batch: 500,
          pollMs: 20,
          lockPollMs: 50,
          retryMs: 100,
          log: { info: () => undefined, error: (message, meta) => logs.logger.error(message, meta) },
        }),
      )
    : [];
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const writeUrl = urlOf(writeServer);
  const readUrl = urlOf(readServer);
  return {
    pool,
    store,
    writeUrl,
    readUrl,
    logs,
    webhookSecrets: options.webhookSecrets ?? [],
    async newKey(merchantId, scopes = ['payments:write', 'payments:read']) {
      const created = await createApiKey(pool, { merchantId, scopes });
      return { key: created.key, id: created.id };
    },
    write: (call) => send(agent, writeUrl, call),
    read: (call) => send(agent, readUrl, call),
    async close() {
      checkpoints.stop();
      await Promise.all(runners.map((runner) => runner.stop()));
      agent.destroy();
      await Promise.all([writeServer, readServer].map(closeServer));
      await pool.end();
    },
  };
}

export function send(agent: Agent, baseUrl: string, call: Call): Promise<Reply> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: call.method,
        path: call.path,
        // Node sends a GET's body with neither length nor chunking unless told its length.
        headers: { ...call.headers, ...(call.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(call.body)) }) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          if (/json/.test(String(response.headers['content-type'] ?? '')) && text.length > 0) {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
      },
    );
    outgoing.on('error', reject);
    if (call.body !== undefined) outgoing.write(call.body);
    outgoing.end();
  });
}

/** JSON POST with a key and an Idempotency-Key. */
export function post(path: string, body: unknown, key: string, idempotencyKey: string): Call {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
  };
}

export function get(path: string, key: string, headers: Record<string, string> = {}): Call {
  return { method: 'GET', path, headers: { authorization: `Bearer ${key}`, ...headers } };
}

function listen(app: { listen: (port: number, host: string, callback: () => void) => Server }): Promise<Server> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function urlOf(server: Server): string {
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
