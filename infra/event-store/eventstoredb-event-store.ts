import { createHash } from 'node:crypto';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START as ESDB_START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  streamNameFilter,
} from '@eventstore/db-client';
import type { AllStreamRecordedEvent, AllStreamSubscription, AppendExpectedRevision, JSONType, ResolvedEvent } from '@eventstore/db-client';
import { v5 as uuidv5 } from 'uuid';
import {
  comparePositions,
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
import { canonicalJson } from './canonical-json';
import { eventHash, GENESIS_HASH } from './hash-chain';

/**
 * The event store on EventStoreDB / KurrentDB (DESIGN.md section 4), through the official gRPC
 * client. The same contract as the Postgres store, mapped onto the server's own guarantees:
 *
 * - `no_stream` and explicit revisions are the server's `expectedRevision`; its
 *   WrongExpectedVersionError becomes StreamConflictError with the actual revision.
 * - `any` is not sent as ANY: the adapter reads the stream's last event (for its hash), appends
 *   with that revision and retries on a conflict, so the hash chain stays linked under concurrency.
 * - Event ids are deterministic: the caller's id, or a uuid v5 of the stream, the expected
 *   revision, the index and the canonical content. ESDB then recognises a retried append of the
 *   same batch at the same revision and answers it idempotently instead of writing it twice.
 * - The hash chain and `recorded_at` (our clock, which the hash covers) travel in the event's
 *   metadata under `_ledger`, and are taken out again on reading, so callers see their metadata
 *   exactly as they wrote it.
 * - Positions are ESDB's own (commit, prepare), which order $all the way the port orders positions.
 *   readAll with a stream prefix pages through a server-side filtered subscription to $all.
 */
export interface EventStoreDbOptions {
  readonly clock?: () => Date;
  /** How often an `any` append retries after losing the race to another writer. */
  readonly anyRetries?: number;
  /** A filtered page ends after this long without an event, on servers that never send caught-up. */
  readonly pageIdleMs?: number;
}

const LEDGER_KEY = '_ledger';
/** Namespace of the event ids this adapter derives (a fixed random uuid). */
const EVENT_ID_NAMESPACE = '1b671a64-40d5-491e-99b0-da01ff1f3d11';

interface ChainMetadata {
  readonly recorded_at: string;
  readonly prev_hash: string;
  readonly hash: string;
}

type StoredMetadata = EventMetadata & { readonly [LEDGER_KEY]: ChainMetadata };

/** Opens a client from a connection string such as `esdb://localhost:2113?tls=false`. */
export function eventStoreDbClient(connectionString: string): EventStoreDBClient {
  return EventStoreDBClient.connectionString`${connectionString}`;
}

export function createEventStoreDbEventStore(client: EventStoreDBClient, options: EventStoreDbOptions = {}): EventStore {
  const clock = options.clock ?? (() => new Date());
  const anyRetries = options.anyRetries ?? 50;
  const pageIdleMs = options.pageIdleMs ?? 250;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('the EventStoreDB event store is closed');
  }

  /** The last event of the stream, or null when the stream does not exist. */
  async function lastEvent(streamId: string): Promise<RecordedEvent | null> {
    const events = await collect(client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }));
    const last = events[0]?.event;
    return last ? toRecordedEvent(last) : null;
  }

  async function appendAt(streamId: string, events: readonly NewEvent[], expected: 'no_stream' | number, prevHash: string): Promise<AppendResult> {
    const recordedAt = clock();
    const firstRevision = expected === 'no_stream' ? 0 : expected + 1;
    let previous = prevHash;
    const data = events.map((event, index) => {
      const revision = firstRevision + index;
      const id = event.id ?? derivedEventId(streamId, expected, index, event);
      const hash = eventHash(previous, { streamId, revision, id, type: event.type, data: event.data, metadata: event.metadata, recordedAt });
      const chain: ChainMetadata = { recorded_at: recordedAt.toISOString(), prev_hash: previous, hash };
      previous = hash;
      return jsonEvent({
        id,
        type: event.type,
        data: event.data as JSONType,
        metadata: { ...event.metadata, [LEDGER_KEY]: chain } as JSONType,
      });
    });
    const expectedRevision: AppendExpectedRevision = expected === 'no_stream' ? NO_STREAM : BigInt(expected);
    try {
      await client.appendToStream(streamId, data, { expectedRevision });
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new StreamConflictError(streamId, expected, actualRevision(error));
      }
      throw error;
    }
    const lastRevision = firstRevision + events.length - 1;
    // The append's own position is that of the write, not necessarily of its last event; the port
    // promises the last event's, so it is read back.
    const [written] = await collect(client.readStream(streamId, { direction: FORWARDS, fromRevision: BigInt(lastRevision), maxCount: 1 }));
    const position = written?.event?.position;
    if (!position) throw new Error(`EventStoreDB returned no position for ${streamId}@${lastRevision}: the server is too old (needs 21.10+)`);
    return { revision: lastRevision, position: { commit: position.commit, prepare: position.prepare } };
  }

  return {
    async append(streamId, events, expected) {
      assertOpen();
      assertAppendArguments(streamId, events, expected);
      if (expected === 'no_stream') return appendAt(streamId, events, 'no_stream', GENESIS_HASH);
      if (typeof expected === 'number') {
        const last = await lastEvent(streamId);
        // The stream is not where the caller expects: the server would refuse the append too.
        if (!last || last.revision !== expected) throw new StreamConflictError(streamId, expected, last ? last.revision : 'no_stream');
        return appendAt(streamId, events, expected, last.hash);
      }
      for (let attempt = 0; ; attempt++) {
        const last = await lastEvent(streamId);
        try {
          return await appendAt(streamId, events, last ? last.revision : 'no_stream', last ? last.hash : GENESIS_HASH);
        } catch (error) {
          if (!(error instanceof StreamConflictError) || attempt >= anyRetries) throw error;
        }
      }
    },

    async read(streamId) {
      assertOpen();
      try {
        const events = await collect(client.readStream(streamId, { direction: FORWARDS, fromRevision: ESDB_START }));
        return events.flatMap((resolved) => (resolved.event ? [toRecordedEvent(resolved.event)] : []));
      } catch (error) {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      }
    },

    async readAll(after, { batch, streamPrefix }: ReadAllOptions) {
      assertOpen();
      if (!Number.isSafeInteger(batch) || batch < 1) throw new TypeError(`readAll: batch must be a positive integer, got ${batch}`);
      const head = await headPosition(client);
      if (!head || (after && comparePositions(after, head) >= 0)) return [];
      const page =
        streamPrefix === undefined
          ? await unfilteredPage(client, after, batch)
          : await filteredPage(client, after, batch, streamPrefix, head, pageIdleMs);
      return page.map(toRecordedEvent);
    },

    async close() {
      closed = true;
      await client.dispose();
    },
  };
}

/** The position of the last record in $all, or null for an empty store. */
async function headPosition(client: EventStoreDBClient): Promise<Position | null> {
  const [last] = await collect(client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }));
  const position = last?.event?.position;
  return position ? { commit: position.commit, prepare: position.prepare } : null;
}

/** Every non-system event after `after`, up to `batch`, in $all order. */
async function unfilteredPage(client: EventStoreDBClient, after: Position | null, batch: number): Promise<AllStreamRecordedEvent[]> {
  const page: AllStreamRecordedEvent[] = [];
  let from: Position | null = after;
  for (;;) {
    // Reading $all from a position includes the event at it; one more is asked for and it is dropped.
    const read = await collect(client.readAll({ direction: FORWARDS, fromPosition: from ?? ESDB_START, maxCount: batch + 1 }));
    const fresh = read.flatMap((resolved) => (resolved.event && isAfter(resolved.event.position, from) ? [resolved.event] : []));
    for (const event of fresh) {
      if (!event.streamId.startsWith('$') && !event.type.startsWith('$')) page.push(event);
      if (page.length === batch) return page;
    }
    const last = fresh[fresh.length - 1];
    if (!last || read.length < batch + 1) return page;
    from = last.position;
  }
}

/**
 * The events of streams starting with `prefix` after `after`, up to `batch`, filtered on the server
 * by a subscription to $all. The page ends when it is full, when the subscription passes `head`
 * (the last record when the read began) or reports that it caught up, or after `idleMs` without an
 * event, for servers that report neither.
 */
function filteredPage(
  client: EventStoreDBClient,
  after: Position | null,
  batch: number,
  prefix: string,
  head: Position,
  idleMs: number,
): Promise<AllStreamRecordedEvent[]> {
  return new Promise((resolve, reject) => {
    const page: AllStreamRecordedEvent[] = [];
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    let subscription: AllStreamSubscription | undefined;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      void subscription?.unsubscribe().catch(() => undefined);
      if (error) reject(error);
      else resolve(page);
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(), idleMs);
    };
    subscription = client.subscribeToAll({
      fromPosition: after ?? ESDB_START,
      resolveLinkTos: false,
      filter: streamNameFilter({
        prefixes: [prefix],
        checkpointInterval: 1,
        checkpointReached: (_subscription, position) => {
          if (comparePositions(position, head) >= 0) finish();
        },
      }),
    });
    subscription.on('data', (resolved: ResolvedEvent) => {
      const event = resolved.event as AllStreamRecordedEvent | undefined;
      if (!event || !isAfter(event.position, after)) return;
      page.push(event);
      if (page.length >= batch || comparePositions(event.position, head) >= 0) finish();
      else armIdle();
    });
    subscription.on('caughtUp', () => finish());
    subscription.on('error', (error) => finish(error));
    subscription.on('end', () => finish());
    armIdle();
  });
}

function isAfter(position: Position | undefined, after: Position | null): boolean {
  return position !== undefined && (after === null || comparePositions(position, after) > 0);
}

function toRecordedEvent(event: { streamId: string; id: string; revision: bigint; type: string; data: unknown; metadata: unknown; created: Date; position?: Position }): RecordedEvent {
  const stored = (event.metadata ?? {}) as Partial<StoredMetadata>;
  const { [LEDGER_KEY]: chain, ...metadata } = stored;
  if (!event.position) throw new Error(`EventStoreDB returned ${event.streamId}@${event.revision} without a position: the server is too old (needs 21.10+)`);
  return {
    id: event.id,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: { commit: event.position.commit, prepare: event.position.prepare },
    type: event.type,
    data: (event.data ?? {}) as Record<string, unknown>,
    metadata: metadata as EventMetadata,
    // An event written by another tool has no chain; it then shows as a hash mismatch to auditors.
    recordedAt: chain ? new Date(chain.recorded_at) : event.created,
    prevHash: chain?.prev_hash ?? '',
    hash: chain?.hash ?? '',
  };
}

function actualRevision(error: WrongExpectedVersionError): number | 'no_stream' {
  const actual: unknown = error.actualVersion;
  return typeof actual === 'bigint' ? Number(actual) : 'no_stream';
}

/** A uuid v5 of where and what the event is: the same batch retried at the same revision has the same ids. */
export function derivedEventId(streamId: string, expected: ExpectedRevision, index: number, event: NewEvent): string {
  const content = createHash('sha256')
    .update(canonicalJson({ stream_id: streamId, expected: String(expected), index, type: event.type, data: event.data, metadata: event.metadata }))
    .digest('hex');
  return uuidv5(content, EVENT_ID_NAMESPACE);
}

async function collect<E>(read: AsyncIterable<E>): Promise<E[]> {
  const items: E[] = [];
  try {
    for await (const item of read) items.push(item);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return items;
    throw error;
  }
  return items;
}

function assertAppendArguments(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): void {
  if (typeof streamId !== 'string' || streamId.length === 0) throw new TypeError('append: streamId must be a non-empty string');
  if (!Array.isArray(events) || events.length === 0) throw new TypeError(`append to ${streamId}: events must be a non-empty array`);
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new TypeError(`append to ${streamId}: expected revision must be a non-negative integer, got ${expected}`);
  }
}

