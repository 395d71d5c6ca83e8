import type { Server } from 'node:http';
import type { Pool } from 'pg';
import type { ApiKeyAuthenticator } from '../ports/api-keys';
import type { EventStore, RecordedEvent } from '../ports/event-store';
import { createReadApi } from '../read-api/app';
import { createCheckpointWatcher } from '../read-api/checkpoint-watcher';
import type { Projection, ProjectionRunner, RunnerOptions } from '../projections';
import { PROJECTIONS, startProjectionRunner } from '../projections';
import type { ChainFailureReason } from './event-store/hash-chain';
import type { SecurityOptions } from './http/security';
import type { ApiOperations, ObservedProjection } from './telemetry';
import { hardenServer } from './http/security';
import { verifyChain } from './event-store/hash-chain';
import type { EventRow } from './event-store/postgres-event-store';
import { toRecordedEvent } from './event-store/postgres-event-store';

export interface ReadSideLog {
  info(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface ReadSideOptions {
  readonly pool: Pool;
  readonly store: EventStore;
  readonly apiKeys: ApiKeyAuthenticator;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly log: ReadSideLog;
  /** Serve the read API (role read-api); default true. */
  readonly api?: boolean;
  /** Run the projection runners (role projections); default true. */
  readonly projections?: boolean;
  readonly runner?: Omit<RunnerOptions, 'log'>;
  readonly projectionList?: readonly Projection[];
  /** Rate limits, CORS and the request deadline of the read API. */
  readonly security?: SecurityOptions;
  /** The read API's metrics, request log, health and OpenAPI routes. */
  readonly operations?: ApiOperations;
  /** Wraps each projection to count and log what it commits (infra/telemetry.ts). */
  readonly observe?: (projection: Projection) => ObservedProjection;
}

export interface RunningReadSide {
  /** The read API's base URL, or null when it is not served by this process. */
  readonly url: string | null;
  readonly runners: readonly ProjectionRunner[];
  stop(): Promise<void>;
}

/**
 * The read side: one runner per projection (each waits for its advisory lock, so any number of
 * processes may run them) and the read API. `stop()` closes the server, then lets each runner
 * finish its batch in flight; the pool and the store belong to the caller.
 */
export async function startReadSide(options: ReadSideOptions): Promise<RunningReadSide> {
  const runners =
    options.projections === false
      ? []
      : (options.projectionList ?? PROJECTIONS).map((projection) => {
          const observed = options.observe?.(projection);
          return startProjectionRunner(options.pool, options.store, observed?.projection ?? projection, {
            ...options.runner,
            log: options.log,
            ...(observed ? { onBatch: observed.hooks.onBatch, onError: observed.hooks.onError } : {}),
          });
        });
  let server: Server | null = null;
  const checkpoints = createCheckpointWatcher(options.pool);
  if (options.api !== false) {
    const app = createReadApi({
      pool: options.pool,
      store: options.store,
      apiKeys: options.apiKeys,
      checkpoints,
      logError: (message, error) => options.log.error(message, { error }),
      ...(options.security ? { security: options.security } : {}),
      ...(options.operations ? { operations: options.operations } : {}),
    });
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(options.port, options.host, () => resolve(listening));
      listening.once('error', reject);
    });
    hardenServer(server, { ...(options.security?.requestTimeoutMs ? { requestTimeoutMs: options.security.requestTimeoutMs } : {}) });
  }
  const address = server?.address();
  const url = server ? `http://${options.host}:${typeof address === 'object' && address ? address.port : options.port}` : null;
  return {
    url,
    runners,
    async stop() {
      checkpoints.stop();
      if (server) {
        const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeIdleConnections();
        await closing;
      }
      await Promise.all(runners.map((runner) => runner.stop()));
    },
  };
}

// ---- audit ---------------------------------------------------------------------------------------

export type AuditFailureReason = ChainFailureReason | 'missing_events' | 'unrecorded_stream';

export interface AuditFailure {
  readonly streamId: string;
  readonly revision: number;
  readonly reason: AuditFailureReason;
}

export interface AuditReport {
  readonly streams: number;
  readonly events: number;
  /** The first failure, in stream id order; null when every chain holds. */
  readonly failure: AuditFailure | null;
}

interface AuditedStream {
  readonly id: string;
  /** The revision the `streams` table records for it. */
  readonly recorded: number | null;
  readonly events: RecordedEvent[];
}

interface AuditRow extends EventRow {
  recorded_revision: string | null;
}

/**
 * Recomputes the hash chain of every stream (or of one) straight from the `events` table of the
 * Postgres event store, and compares each stream's last event with the revision `streams` holds,
 * so that a deleted tail is found too. Reads in pages by (stream_id, revision), never holding one
 * long transaction.
 */
export async function auditStreams(pool: Pool, options: { streamId?: string; page?: number } = {}): Promise<AuditReport> {
  const page = options.page ?? 5000;
  let streams = 0;
  let events = 0;
  let after: { stream: string; revision: number } = { stream: '', revision: -1 };
  let current = null as AuditedStream | null;

  const finish = (stream: AuditedStream | null): AuditFailure | null => {
    if (!stream) return null;
    streams += 1;
    const verdict = verifyChain(stream.events);
    if (!verdict.ok) return { streamId: stream.id, revision: verdict.revision, reason: verdict.reason };
    const last = stream.events.length - 1;
    if (stream.recorded === null) return { streamId: stream.id, revision: 0, reason: 'unrecorded_stream' };
    if (stream.recorded !== last) return { streamId: stream.id, revision: last + 1, reason: 'missing_events' };
    return null;
  };

  for (;;) {
    const { rows } = await pool.query<AuditRow>(
      `select e.stream_id, e.revision, e.event_id, e.type, e.data, e.metadata, e.recorded_at, e.prev_hash, e.hash,
              e.transaction_id, e.global_position, s.revision as recorded_revision
         from events e left join streams s on s.stream_id = e.stream_id
        where (e.stream_id, e.revision) > ($1, $2) and ($3::text is null or e.stream_id = $3)
        order by e.stream_id, e.revision limit $4`,
      [after.stream, after.revision, options.streamId ?? null, page],
    );
    for (const row of rows) {
      if (current?.id !== row.stream_id) {
        const failure = finish(current);
        if (failure) return { streams, events, failure };
        current = { id: row.stream_id, recorded: row.recorded_revision === null ? null : Number(row.recorded_revision), events: [] };
      }
      current.events.push(toRecordedEvent(row));
      events += 1;
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < page) break;
    after = { stream: last.stream_id, revision: Number(last.revision) };
  }
  const failure = finish(current);
  if (failure) return { streams, events, failure };
  // A stream whose every event was deleted leaves only its `streams` row behind.
  const { rows: emptied } = await pool.query<{ stream_id: string }>(
    `select s.stream_id from streams s
      where ($1::text is null or s.stream_id = $1) and not exists (select 1 from events e where e.stream_id = s.stream_id)
      order by s.stream_id limit 1`,
    [options.streamId ?? null],
  );
  if (emptied[0]) return { streams: streams + 1, events, failure: { streamId: emptied[0].stream_id, revision: 0, reason: 'missing_events' } };
  if (options.streamId !== undefined && streams === 0) throw new Error(`no stream ${options.streamId}`);
  return { streams, events, failure: null };
}

