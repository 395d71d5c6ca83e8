/**
 * The event store port. Every adapter (Postgres, EventStoreDB) implements it and passes the shared
 * contract suite in test/integration/event-store.contract.ts.
 */

/**
 * A place in the store's single total order. For Postgres, `commit` is the writing transaction's
 * id and `prepare` the row's global_position; for EventStoreDB they are its own commit and prepare
 * positions. Positions compare as the pair (commit, prepare).
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export type ExpectedRevision = 'no_stream' | 'any' | number;

export interface EventMetadata {
  readonly correlation_id: string;
  readonly causation_id: string;
  readonly actor: string;
  readonly source: string;
  readonly idempotency_key?: string;
  /** sha256 of the canonical request body, kept beside the key so a reuse can be told apart. */
  readonly request_hash?: string;
  readonly [extra: string]: unknown;
}

export interface NewEvent {
  /** A deterministic uuid where the caller can derive one, so a retried append can be recognised. */
  readonly id?: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: EventMetadata;
}

export interface RecordedEvent {
  readonly id: string;
  readonly streamId: string;
  /** 0-based position of the event inside its stream. */
  readonly revision: number;
  readonly position: Position;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: EventMetadata;
  readonly recordedAt: Date;
  /** Hash of the previous event in the stream ('' for revision 0). */
  readonly prevHash: string;
  /** sha256(prevHash || canonical(event)), see infra/event-store/hash-chain.ts. */
  readonly hash: string;
}

export interface AppendResult {
  /** Revision of the last event appended. */
  readonly revision: number;
  /** Position of the last event appended. */
  readonly position: Position;
}

export interface ReadAllOptions {
  readonly batch: number;
  /** Only streams whose id starts with this prefix, e.g. 'payment-'. */
  readonly streamPrefix?: string;
}

export interface EventStore {
  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** The whole stream, revision 0..n; an empty array when the stream does not exist. */
  read(streamId: string): Promise<RecordedEvent[]>;
  /**
   * Events strictly after `after` (null: from the start) in one total order that never changes.
   * An event committed later never appears before one already returned.
   */
  readAll(after: Position | null, options: ReadAllOptions): Promise<RecordedEvent[]>;
  close(): Promise<void>;
}

/** The expected revision did not hold: the stream exists (no_stream) or moved on (revision). */
export class StreamConflictError extends Error {
  override readonly name = 'StreamConflictError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

export const START: Position | null = null;

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** The wire form of a position: "<commit>:<prepare>", decimal. */
export function formatPosition(position: Position): string {
  return `${position.commit}:${position.prepare}`;
}

export function parsePosition(text: string): Position | undefined {
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(text);
  if (!match) return undefined;
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}
