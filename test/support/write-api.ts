import type { Server } from 'node:http';
import { Pool } from 'pg';
import type { EventStore } from '../../ports/event-store';
import type { Scope } from '../../ports/api-keys';
import { migrate } from '../../infra/postgres/migrate';
import { createPostgresEventStore } from '../../infra/event-store/postgres-event-store';
import { createApiKey, postgresApiKeys } from '../../infra/auth/api-keys';
import { createWriteApi } from '../../write-api/app';
import { isolatedDatabase, testPool } from './postgres';

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
  readonly contentType: string;
}

export interface WriteApiHarness {
  readonly pool: Pool;
  readonly store: EventStore;
  readonly baseUrl: string;
  newKey(merchantId: string, scopes?: Scope[]): Promise<{ key: string; id: string }>;
  post(path: string, body: unknown, options?: { key?: string; idempotencyKey?: string; headers?: Record<string, string> }): Promise<HttpResult>;
  request(init: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<HttpResult>;
  close(): Promise<void>;
}

/** A write API on port 0 over the run's test database, with production migrations. */
export async function startWriteApi(options: { isolated?: boolean } = {}): Promise<WriteApiHarness> {
  // Tests that replay every event (rebuilds) take a database of their own, so their cost does not
  // grow with whatever the other test files wrote before them.
  const isolated = options.isolated ? await isolatedDatabase('replay') : null;
  const pool = isolated ? new Pool({ connectionString: isolated.url, max: 30 }) : testPool(30);
  await migrate(pool);
  const store = createPostgresEventStore(pool);
  const app = createWriteApi({
    store,
    apiKeys: postgresApiKeys(pool),
    clock: () => new Date(),
    bodyLimitBytes: 65_536,
    logError: (message, error) => {
      throw new Error(`write API logged an unexpected error: ${message} ${String(error)}`);
    },
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const request: WriteApiHarness['request'] = async ({ method, path, headers = {}, body }) => {
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (/json/.test(contentType) && text.length > 0) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed, contentType };
  };

  return {
    pool,
    store,
    baseUrl,
    async newKey(merchantId, scopes = ['payments:write', 'payments:read']) {
      const created = await createApiKey(pool, { merchantId, scopes });
      return { key: created.key, id: created.id };
    },
    post(path, body, options = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
      return request({ method: 'POST', path, headers, body: JSON.stringify(body) });
    },
    request,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await pool.end();
      await isolated?.drop();
    },
  };
}
