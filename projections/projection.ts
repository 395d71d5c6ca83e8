import type { QueryResult, QueryResultRow } from 'pg';
import type { RecordedEvent } from '../ports/event-store';

/**
 * What a projection writes through: one open transaction, and the physical name of each of its
 * tables (the live table, or its shadow during a rebuild).
 */
export interface ProjectionTx {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** The quoted name to use in SQL for one of the projection's logical tables. */
  table(name: string): string;
}

/**
 * A projection is a definition, run by `startProjectionRunner` or `rebuildProjection` one batch of
 * events at a time, each batch in one transaction: `load` once with the batch's events, `apply`
 * for each event in order, `flush` once, then `assertInvariants`. `apply` must be idempotent
 * (applying an event twice changes nothing), because a rebuild's swap may move the checkpoint back
 * over applied events.
 *
 * A projection whose rows each depend on the one before (a payment's next row is its last row
 * plus one event) reads them in `load`, folds in memory in `apply` and writes in `flush`: a few
 * statements per batch rather than several round trips per event. `batchedProjection` builds one.
 */
export interface Projection {
  readonly name: string;
  /** Logical table names; the live tables have exactly these names. */
  readonly tables: readonly string[];
  /** Only events of streams with this prefix reach `apply`. */
  readonly streamPrefix: string;
  /** Called first, with every event of the batch. */
  load?(events: readonly RecordedEvent[], tx: ProjectionTx): Promise<void>;
  apply(event: RecordedEvent, tx: ProjectionTx): Promise<void>;
  /** Called after the batch's last `apply`. */
  flush?(tx: ProjectionTx): Promise<void>;
  /** Checked once per batch, in the batch's transaction, before the checkpoint moves: throw to roll back. */
  assertInvariants?(tx: ProjectionTx): Promise<void>;
}

/** How a batched projection reads, folds and writes one batch; `B` is what it holds in between. */
export interface BatchFold<B> {
  /** Reads (and locks) the rows the events will change, in one round trip or a few. */
  load(events: readonly RecordedEvent[], tx: ProjectionTx): Promise<B>;
  /** Applies one event to the batch in memory; an event the rows already reflect changes nothing. */
  fold(batch: B, event: RecordedEvent): void;
  /** Writes what the batch changed, in a few set-based statements. */
  write(batch: B, tx: ProjectionTx): Promise<void>;
}

/**
 * A projection that folds each batch in memory. The batch lives from `load` to `flush`, keyed by
 * the batch's ProjectionTx, so that a rebuild and the live runner (both in one process, say) fold
 * their own batches apart. Each step stays a method of its own, so that a wrapper that observes
 * `apply` (infra/telemetry.ts) still sees every event.
 */
export function batchedProjection<B>(
  definition: Pick<Projection, 'name' | 'tables' | 'streamPrefix' | 'assertInvariants'>,
  steps: BatchFold<B>,
): Projection {
  const open = new WeakMap<ProjectionTx, B>();
  const batchOf = (tx: ProjectionTx): B => {
    const batch = open.get(tx);
    if (batch === undefined) throw new Error(`projection ${definition.name}: an event reached apply before its batch was loaded`);
    return batch;
  };
  return {
    ...definition,
    async load(events, tx) {
      open.set(tx, await steps.load(events, tx));
    },
    async apply(event, tx) {
      steps.fold(batchOf(tx), event);
    },
    async flush(tx) {
      await steps.write(batchOf(tx), tx);
      open.delete(tx);
    },
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A ProjectionTx over any query-able client, with a mapping from logical to physical table names. */
export function projectionTx(
  client: { query: (sql: string, params?: unknown[]) => Promise<QueryResult> },
  projection: Projection,
  physical: (table: string) => string = (table) => table,
): ProjectionTx {
  return {
    query: (sql, params) => client.query(sql, params ? [...params] : undefined) as Promise<QueryResult<any>>,
    table(name) {
      if (!projection.tables.includes(name)) throw new Error(`projection ${projection.name} has no table ${name}`);
      return quoteIdent(physical(name));
    },
  };
}
