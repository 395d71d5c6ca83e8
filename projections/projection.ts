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
 * A projection is a definition, run by `startProjectionRunner` or `rebuildProjection`:
 * `apply` issues the row changes for one event and must be idempotent (applying an event twice
 * changes nothing), because a rebuild's swap may move the checkpoint back over applied events.
 */
export interface Projection {
  readonly name: string;
  /** Logical table names; the live tables have exactly these names. */
  readonly tables: readonly string[];
  /** Only events of streams with this prefix reach `apply`. */
  readonly streamPrefix: string;
  apply(event: RecordedEvent, tx: ProjectionTx): Promise<void>;
  /** Checked once per batch, in the batch's transaction, before the checkpoint moves: throw to roll back. */
  assertInvariants?(tx: ProjectionTx): Promise<void>;
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
