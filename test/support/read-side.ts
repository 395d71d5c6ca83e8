import type { Server } from 'node:http';
import type { Pool } from 'pg';
import type { Position } from '../../ports/event-store';
import { comparePositions } from '../../ports/event-store';
import { postgresApiKeys } from '../../infra/auth/api-keys';
import { createReadApi } from '../../read-api/app';
import { createCheckpointWatcher } from '../../read-api/checkpoint-watcher';
import type { Projection, ProjectionRunner } from '../../projections';
import { PROJECTIONS, readCheckpoint, startProjectionRunner } from '../../projections';
import { startWriteApi, type HttpResult, type WriteApiHarness } from './write-api';

export interface ReadSideHarness {
  readonly write: WriteApiHarness;
  readonly pool: Pool;
  readonly readUrl: string;
  get(path: string, key: string, headers?: Record<string, string>): Promise<HttpResult>;
  /** Starts a runner for each projection (or the given ones); they stop with the harness. */
  startRunners(projections?: readonly Projection[]): ProjectionRunner[];
  close(): Promise<void>;
}

/** The write API and the read API over the run's database, with fast-polling projection runners. */
export async function startReadSide(
  options: { runners?: boolean; minPositionTimeoutMs?: number; isolated?: boolean } = {},
): Promise<ReadSideHarness> {
  const write = await startWriteApi({ isolated: options.isolated ?? false });
  const { pool, store } = write;
  const checkpoints = createCheckpointWatcher(pool, 10);
  const app = createReadApi({
    pool,
    store,
    apiKeys: postgresApiKeys(pool),
    checkpoints,
    ...(options.minPositionTimeoutMs === undefined ? {} : { minPositionTimeoutMs: options.minPositionTimeoutMs }),
    logError: (message, error) => {
      throw new Error(`read API logged an unexpected error: ${message} ${String(error)}`);
    },
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address();
  const readUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const runners: ProjectionRunner[] = [];

  const harness: ReadSideHarness = {
    write,
    pool,
    readUrl,
    async get(path, key, headers = {}) {
      const response = await fetch(`${readUrl}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
      const text = await response.text();
      const contentType = response.headers.get('content-type') ?? '';
      return { status: response.status, headers: response.headers, body: /json/.test(contentType) && text ? JSON.parse(text) : text, contentType };
    },
    startRunners(projections = PROJECTIONS) {
      const started = projections.map((projection) =>
        startProjectionRunner(pool, store, projection, {
          batch: 200,
          pollMs: 20,
          lockPollMs: 50,
          retryMs: 100,
          log: { info: () => undefined, error: (message, meta) => console.error(message, meta) },
        }),
      );
      runners.push(...started);
      return started;
    },
    async close() {
      checkpoints.stop();
      await Promise.all(runners.map((runner) => runner.stop()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await write.close();
    },
  };
  if (options.runners !== false) harness.startRunners();
  return harness;
}

/** Waits until every named projection has applied `position` (whichever instance runs it). */
export async function waitForProjections(
  pool: Pool,
  position: Position,
  names: readonly string[] = PROJECTIONS.map((p) => p.name),
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const at = await readCheckpoint(pool, name);
      if (at && comparePositions(at, position) >= 0) break;
      if (Date.now() > deadline) throw new Error(`projection ${name} did not reach ${position.commit}:${position.prepare} (at ${at?.commit}:${at?.prepare})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The position of the last event of these streams: once projected, they are all projected. */
export async function lastPositionOf(pool: Pool, streamIds: readonly string[]): Promise<Position | null> {
  const { rows } = await pool.query<{ transaction_id: string; global_position: string }>(
    `select transaction_id::text, global_position::text from events where stream_id = any($1)
      order by transaction_id desc, global_position desc limit 1`,
    [streamIds],
  );
  return rows[0] ? { commit: BigInt(rows[0].transaction_id), prepare: BigInt(rows[0].global_position) } : null;
}
