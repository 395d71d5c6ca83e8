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
import { canonicalEvent, chainHash, GENESIS_HASH } from './hash-chain';

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
  const tails = streamTails(KNOWN_TAILS);
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('the Postgres event store is closed');
  }

  return {
    async append(streamId, events, expected) {
      assertOpen();
      assertAppendArguments(streamId, events, expected);
      try {
        const appended =
          expected === 'any'
            ? await appendAtEnd(pool, streamId, events, clock())
            : await appendAtRevision(pool, tails, streamId, events, expected, clock());
        tails.remember(streamId, appended.tail);
        return appended.result;
      } catch (error) {
        if (isStreamRevisionConflict(error)) {
          throw new StreamConflictError(streamId, expected, await currentRevision(pool, streamId));
        }
        throw error;
      }
    },

    async read(streamId) {
      assertOpen();
      const { rows } = await pool.query<EventRow>(
        `select ${EVENT_COLUMNS} from events where stream_id = $1 order by revision`,
        [streamId],
      );
      const last = rows[rows.length - 1];
      if (last) tails.remember(streamId, { revision: Number(last.revision), hash: last.hash });
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

/**
 * Writes the events of one append after the stream's `streams` row was claimed by the CTE
 * `claimed` (which yields the stream id, or no row when the claim failed, and then nothing is
 * written). $2 is a JSON array of the events' canonical envelopes (canonicalEvent), the text the
 * hashes were computed over, and each column is taken from it: what is stored is what was hashed.
 * One JSON document also costs less to send and parse than an array of jsonb values. The rows are
 * inserted in revision order, so global_position (and with it readAll's order) agrees with the
 * order inside the stream. Only the last row comes back: its position is the append's.
 */
const insertClaimedEvents = (claim: string): string => `
  with claimed as (${claim}),
  inserted as (
    insert into events (stream_id, revision, event_id, type, data, metadata, recorded_at, prev_hash, hash)
    select claimed.stream_id, (r.event->>'revision')::bigint, (r.event->>'event_id')::uuid, r.event->>'type',
           r.event->'data', r.event->'metadata', (r.event->>'recorded_at')::timestamptz, r.prev_hash, r.hash
      from claimed,
           rows from (jsonb_array_elements($2::jsonb), unnest($3::text[]), unnest($4::text[]))
             with ordinality as r(event, prev_hash, hash, n)
     order by r.n
    returning revision, transaction_id, global_position
  )
  select revision, transaction_id, global_position from inserted order by revision desc limit 1`;

/**
 * The appends with an expected revision are each one statement, so one round trip and one
 * implicit transaction: the claim of the `streams` row and the insert of the events commit or fail
 * together. They are named (prepared once per connection), as they run on every append.
 *
 * `no_stream` inserts the row; when it exists, or a concurrent writer's insert commits first, the
 * insert does nothing and no event is written. An explicit revision is a compare-and-set update:
 * concurrent writers queue on the row lock, and under READ COMMITTED the loser re-checks the
 * condition against the winner's committed row, so the check and the claim are one atomic step.
 * It also claims only if the stored event at that revision has the hash the first new event is
 * chained to ($3[1]), since that hash may come from what this store last saw of the stream.
 */
const APPEND_TO_NEW_STREAM = {
  name: 'event-store-append-to-new-stream',
  text: insertClaimedEvents('insert into streams (stream_id, revision) values ($1, $5) on conflict (stream_id) do nothing returning stream_id'),
};
const APPEND_AFTER_REVISION = {
  name: 'event-store-append-after-revision',
  text: insertClaimedEvents(`
    update streams set revision = $5
     where stream_id = $1 and revision = $6
       and exists (select from events where stream_id = $1 and revision = $6 and hash = ($3::text[])[1])
    returning stream_id`),
};
/** For `any`, whose revisions were claimed earlier in the same transaction. */
const APPEND_CLAIMED = { name: 'event-store-append-claimed', text: insertClaimedEvents('select $1::text as stream_id') };

type InsertedRow = { revision: string; transaction_id: string; global_position: string };

/** A stream's last event as far as this store knows: its revision and hash. */
interface Tail {
  readonly revision: number;
  readonly hash: string;
}

interface Appended {
  readonly result: AppendResult;
  readonly tail: Tail;
}

async function appendAtRevision(
  pool: Pool,
  tails: StreamTails,
  streamId: string,
  events: readonly NewEvent[],
  expected: 'no_stream' | number,
  recordedAt: Date,
): Promise<Appended> {
  if (expected === 'no_stream') {
    const appended = await appendStatement(pool, APPEND_TO_NEW_STREAM, streamId, events, 0, GENESIS_HASH, recordedAt, []);
    if (!appended) throw new StreamConflictError(streamId, expected, await currentRevision(pool, streamId));
    return appended;
  }
  // The hash this store last saw at `expected` saves a query; the statement checks it, and when it
  // is stale the stored hash is read (which also tells a conflict) and the append tried once more.
  const known = tails.hashAt(streamId, expected);
  if (known !== undefined) {
    const appended = await appendStatement(pool, APPEND_AFTER_REVISION, streamId, events, expected + 1, known, recordedAt, [expected]);
    if (appended) return appended;
  }
  const prevHash = await hashOfLastEvent(pool, streamId, expected);
  const appended = await appendStatement(pool, APPEND_AFTER_REVISION, streamId, events, expected + 1, prevHash, recordedAt, [expected]);
  if (!appended) throw new StreamConflictError(streamId, expected, await currentRevision(pool, streamId));
  return appended;
}

/** Runs one of the single-statement appends; null when its claim failed and nothing was written. */
async function appendStatement(
  pool: Pool,
  statement: { readonly name: string; readonly text: string },
  streamId: string,
  events: readonly NewEvent[],
  firstRevision: number,
  prevHash: string,
  recordedAt: Date,
  claimValues: readonly unknown[],
): Promise<Appended | null> {
  const chain = chainRows(streamId, events, firstRevision, prevHash, recordedAt);
  const lastRevision = firstRevision + events.length - 1;
  const { rows } = await pool.query<InsertedRow>({ ...statement, values: [...insertValues(streamId, chain), lastRevision, ...claimValues] });
  return rows.length === 0 ? null : appended(rows, chain, lastRevision);
}

/** `any`: claims the next revisions under the row lock of the stream's `streams` row, then writes. */
async function appendAtEnd(pool: Pool, streamId: string, events: readonly NewEvent[], recordedAt: Date): Promise<Appended> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('begin');
    const { rows: claimed } = await client.query<{ revision: string }>(
      `insert into streams (stream_id, revision) values ($1, $2)
       on conflict (stream_id) do update set revision = streams.revision + $3
       returning revision`,
      [streamId, events.length - 1, events.length],
    );
    const lastRevision = Number(claimed[0]!.revision);
    const firstRevision = lastRevision - events.length + 1;
    const prevHash = firstRevision === 0 ? GENESIS_HASH : await hashAt(client, streamId, firstRevision - 1);
    const chain = chainRows(streamId, events, firstRevision, prevHash, recordedAt);
    const { rows } = await client.query<InsertedRow>({ ...APPEND_CLAIMED, values: insertValues(streamId, chain) });
    await client.query('commit');
    return appended(rows, chain, lastRevision);
  } catch (error) {
    // A connection that cannot even roll back is not handed to the next caller.
    broken = !(await client.query('rollback').then(
      () => true,
      () => false,
    ));
    throw error;
  } finally {
    client.release(broken);
  }
}

interface ChainRow {
  readonly canonical: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** The rows of one append, each hashed over the one before it, starting from `prevHash`. */
function chainRows(streamId: string, events: readonly NewEvent[], firstRevision: number, prevHash: string, recordedAt: Date): ChainRow[] {
  let previous = prevHash;
  return events.map((event, index) => {
    const id = event.id ?? randomUUID();
    const canonical = canonicalEvent({ streamId, revision: firstRevision + index, id, type: event.type, data: event.data, metadata: event.metadata, recordedAt });
    const row = { canonical, prevHash: previous, hash: chainHash(previous, canonical) };
    previous = row.hash;
    return row;
  });
}

/** Parameters $1..$4 of insertClaimedEvents. */
function insertValues(streamId: string, rows: readonly ChainRow[]): unknown[] {
  return [streamId, `[${rows.map((r) => r.canonical).join(',')}]`, rows.map((r) => r.prevHash), rows.map((r) => r.hash)];
}

function appended([last]: readonly InsertedRow[], chain: readonly ChainRow[], lastRevision: number): Appended {
  return {
    result: { revision: lastRevision, position: { commit: BigInt(last!.transaction_id), prepare: BigInt(last!.global_position) } },
    tail: { revision: lastRevision, hash: chain[chain.length - 1]!.hash },
  };
}

type StreamTails = ReturnType<typeof streamTails>;

/** How many streams' last hashes a store keeps: a few MB at most. */
const KNOWN_TAILS = 10_000;

/**
 * The last event of each stream this store read or appended to, least recently seen dropped
 * first. A command reads its stream, decides, and appends after the revision it read: the hash it
 * chains to is then already known. Only ever a guess, checked by the append itself.
 */
function streamTails(limit: number) {
  const tails = new Map<string, Tail>();
  return {
    hashAt(streamId: string, revision: number): string | undefined {
      const tail = tails.get(streamId);
      return tail?.revision === revision ? tail.hash : undefined;
    },
    remember(streamId: string, tail: Tail): void {
      tails.delete(streamId);
      tails.set(streamId, tail);
      if (tails.size > limit) tails.delete(tails.keys().next().value!);
    },
  };
}

/**
 * The hash of the stream's event at `revision`, which must be its last; otherwise the append
 * cannot succeed and the conflict is thrown at once. Both are read in one statement, so in one
 * snapshot: the stream's revision and its events were committed together.
 */
async function hashOfLastEvent(pool: Pool, streamId: string, revision: number): Promise<string> {
  const { rows } = await pool.query<{ revision: string; hash: string | null }>({
    name: 'event-store-hash-of-last-event',
    text: `select s.revision, e.hash
             from streams s left join events e on e.stream_id = s.stream_id and e.revision = $2
            where s.stream_id = $1`,
    values: [streamId, revision],
  });
  const stream = rows[0];
  if (stream === undefined) throw new StreamConflictError(streamId, revision, 'no_stream');
  if (Number(stream.revision) !== revision) throw new StreamConflictError(streamId, revision, Number(stream.revision));
  // The streams row says this event exists; its absence means the tables disagree, which no retry fixes.
  if (stream.hash === null) throw new Error(`event store corrupt: ${streamId} has no event at revision ${revision}`);
  return stream.hash;
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
