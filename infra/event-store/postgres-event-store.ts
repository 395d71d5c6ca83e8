import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import {
  StreamConflictError,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type RecordedEvent,
} from '../../ports/event-store';
import { eventHash, GENESIS_HASH } from './hash-chain';

/**
 * The Postgres event store (DESIGN.md section 4) over the tables of migration 001-event-store.
 *
 * The pool belongs to the caller: `close()` stops this store from taking new work but does not end
 * the pool, which the composition root shares with projections and the job queue.
 */
export interface PostgresEventStoreOptions {
  /** Source of `recorded_at`; a JS Date has millisecond precision, so the value round-trips exactly. */
  readonly clock?: () => Date;
}

const UNIQUE_VIOLATION = '23505';
const EVENTS_STREAM_REVISION_KEY = 'events_stream_id_revision_key';

export interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recorded_at: Date;
  prev_hash: string;
  hash: string;
}

// pg hands bigint and xid8 columns over as decimal strings; they become bigint in toRecordedEvent.
// No cast to text here: an output column named transaction_id would make ORDER BY sort as text.
const EVENT_COLUMNS = 'global_position, transaction_id, stream_id, revision, event_id, type, data, metadata, recorded_at, prev_hash, hash';

export function createPostgresEventStore(pool: Pool, options: PostgresEventStoreOptions = {}): EventStore {
  const clock = options.clock ?? (() => new Date());
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('the Postgres event store is closed');
  }

  return {
    async append(streamId, events, expected) {
      assertOpen();
      assertAppendArguments(streamId, events, expected);
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('begin');
        const result = await appendInTransaction(client, streamId, events, expected, clock());
        await client.query('commit');
        return result;
      } catch (error) {
        // A connection that cannot even roll back is not handed to the next caller.
        broken = !(await client.query('rollback').then(
          () => true,
          () => false,
        ));
        if (isStreamRevisionConflict(error)) {
          throw new StreamConflictError(streamId, expected, await currentRevision(pool, streamId));
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },

    async read(streamId) {
      assertOpen();
      const { rows } = await pool.query<EventRow>(
        `select ${EVENT_COLUMNS} from events where stream_id = $1 order by revision`,
        [streamId],
      );
      return rows.map(toRecordedEvent);
    },

    async readAll(after, { batch, streamPrefix }: ReadAllOptions) {
      assertOpen();
      if (!Number.isSafeInteger(batch) || batch < 1) throw new TypeError(`readAll: batch must be a positive integer, got ${batch}`);
      const from = after ?? { commit: 0n, prepare: 0n };
      // Only transactions older than every one still running are read: a transaction that began
      // earlier but commits later would otherwise land behind a position already handed out.
      const { rows } = await pool.query<EventRow>(
        `select ${EVENT_COLUMNS} from events
          where (transaction_id, global_position) > ($1::xid8, $2::bigint)
            and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
            and ($3::text is null or stream_id like $3::text escape '\\')
          order by events.transaction_id, events.global_position
          limit $4::int`,
        [from.commit.toString(), from.prepare.toString(), streamPrefix === undefined ? null : likePrefix(streamPrefix), batch],
      );
      return rows.map(toRecordedEvent);
    },

    async close() {
      closed = true;
    },
  };
}

async function appendInTransaction(
  client: PoolClient,
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
  recordedAt: Date,
): Promise<AppendResult> {
  const lastRevision = await claimRevisions(client, streamId, events.length, expected);
  const firstRevision = lastRevision - events.length + 1;
  let prevHash = firstRevision === 0 ? GENESIS_HASH : await hashAt(client, streamId, firstRevision - 1);

  const rows = events.map((event, index) => {
    const revision = firstRevision + index;
    const id = event.id ?? randomUUID();
    const hash = eventHash(prevHash, { streamId, revision, id, type: event.type, data: event.data, metadata: event.metadata, recordedAt });
    const row = { revision, id, type: event.type, data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata), prevHash, hash };
    prevHash = hash;
    return row;
  });

  // The rows are inserted in revision order, so global_position (and with it readAll's order)
  // agrees with the order inside the stream.
  const inserted = await client.query<{ revision: string; transaction_id: string; global_position: string }>(
    `insert into events (stream_id, revision, event_id, type, data, metadata, recorded_at, prev_hash, hash)
     select $1, r.revision, r.event_id, r.type, r.data, r.metadata, $2::timestamptz, r.prev_hash, r.hash
       from unnest($3::bigint[], $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], $9::text[])
            with ordinality as r(revision, event_id, type, data, metadata, prev_hash, hash, n)
      order by r.n
     returning revision, transaction_id, global_position`,
    [
      streamId,
      recordedAt.toISOString(),
      rows.map((r) => r.revision),
      rows.map((r) => r.id),
      rows.map((r) => r.type),
      rows.map((r) => r.data),
      rows.map((r) => r.metadata),
      rows.map((r) => r.prevHash),
      rows.map((r) => r.hash),
    ],
  );
  const last = inserted.rows.find((row) => Number(row.revision) === lastRevision)!;
  return { revision: lastRevision, position: { commit: BigInt(last.transaction_id), prepare: BigInt(last.global_position) } };
}

/**
 * Moves the stream's revision on by `count` under the row lock of its `streams` row, or throws the
 * conflict. Returns the revision of the last event to append. Concurrent writers to one stream
 * queue on that row; under READ COMMITTED the loser re-checks the condition against the winner's
 * committed row, so the check and the claim are one atomic step.
 */
async function claimRevisions(client: PoolClient, streamId: string, count: number, expected: ExpectedRevision): Promise<number> {
  if (expected === 'no_stream') {
    const { rows } = await client.query<{ revision: string }>(
      'insert into streams (stream_id, revision) values ($1, $2) on conflict (stream_id) do nothing returning revision',
      [streamId, count - 1],
    );
    if (rows[0] === undefined) throw new StreamConflictError(streamId, expected, await currentRevision(client, streamId));
    return Number(rows[0].revision);
  }
  if (expected === 'any') {
    const { rows } = await client.query<{ revision: string }>(
      `insert into streams (stream_id, revision) values ($1, $2)
       on conflict (stream_id) do update set revision = streams.revision + $3
       returning revision`,
      [streamId, count - 1, count],
    );
    return Number(rows[0]!.revision);
  }
  const { rows } = await client.query<{ revision: string }>(
    'update streams set revision = $3 where stream_id = $1 and revision = $2 returning revision',
    [streamId, expected, expected + count],
  );
  if (rows[0] === undefined) throw new StreamConflictError(streamId, expected, await currentRevision(client, streamId));
  return Number(rows[0].revision);
}

async function hashAt(client: PoolClient, streamId: string, revision: number): Promise<string> {
  const { rows } = await client.query<{ hash: string }>('select hash from events where stream_id = $1 and revision = $2', [
    streamId,
    revision,
  ]);
  // The streams row says this event exists; its absence means the tables disagree, which no retry fixes.
  if (rows[0] === undefined) throw new Error(`event store corrupt: ${streamId} has no event at revision ${revision}`);
  return rows[0].hash;
}

async function currentRevision(db: Pick<Pool, 'query'>, streamId: string): Promise<number | 'no_stream'> {
  const { rows } = await db.query<{ revision: string }>('select revision from streams where stream_id = $1', [streamId]);
  return rows[0] === undefined ? 'no_stream' : Number(rows[0].revision);
}

function assertAppendArguments(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): void {
  if (typeof streamId !== 'string' || streamId.length === 0) throw new TypeError('append: streamId must be a non-empty string');
  if (!Array.isArray(events) || events.length === 0) throw new TypeError(`append to ${streamId}: events must be a non-empty array`);
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new TypeError(`append to ${streamId}: expected revision must be a non-negative integer, got ${expected}`);
  }
}

function isStreamRevisionConflict(error: unknown): boolean {
  const pgError = error as { code?: unknown; constraint?: unknown };
  return pgError?.code === UNIQUE_VIOLATION && (pgError.constraint === EVENTS_STREAM_REVISION_KEY || pgError.constraint === 'streams_pkey');
}

/** A LIKE pattern matching ids that start with `prefix` literally ('_' and '%' included). */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A row of the `events` table as the port's RecordedEvent; also used by the audit's own paged scan. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) } satisfies Position,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
