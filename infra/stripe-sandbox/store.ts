import type { Pool, PoolClient } from 'pg';
import { invalidRequest } from './errors';
import type { StripeObject } from './objects';

export type Db = Pool | PoolClient;

export async function getObject<T extends StripeObject>(db: Db, id: string, opts: { forUpdate?: boolean } = {}): Promise<T | undefined> {
  const lock = opts.forUpdate ? ' for update' : '';
  const { rows } = await db.query<{ data: T }>(`select data from stripe_sandbox.objects where id = $1${lock}`, [id]);
  return rows[0]?.data;
}

export async function insertObject(db: Db, obj: StripeObject): Promise<void> {
  await db.query('insert into stripe_sandbox.objects (id, object, created, data) values ($1, $2, $3, $4)', [
    obj.id,
    obj.object,
    obj.created,
    JSON.stringify(obj),
  ]);
}

export async function saveObject(db: Db, obj: StripeObject): Promise<void> {
  const { rowCount } = await db.query('update stripe_sandbox.objects set data = $2 where id = $1', [obj.id, JSON.stringify(obj)]);
  if (rowCount !== 1) throw new Error(`stripe-sandbox: saving ${obj.id}, which was never inserted`);
}

export interface CreatedRange {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

export interface ListQuery {
  object: string;
  /** Equality filters on top-level fields of the stored JSON; callers pass only names they allow. */
  fields?: Record<string, string | undefined>;
  metadata?: Record<string, string>;
  created?: CreatedRange;
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

export interface ListPage<T> {
  data: T[];
  hasMore: boolean;
}

const RANGE_SQL: Record<keyof CreatedRange, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** Newest first, as Stripe lists: `starting_after` pages towards older objects, `ending_before` towards newer. */
export async function listObjects<T extends StripeObject>(db: Db, q: ListQuery): Promise<ListPage<T>> {
  const where: string[] = ['object = $1'];
  const values: unknown[] = [q.object];
  const add = (sql: (p: string) => string, value: unknown) => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  for (const [field, value] of Object.entries(q.fields ?? {})) {
    if (value !== undefined) add((p) => `data ->> '${field.replace(/[^a-z_]/g, '')}' = ${p}`, value);
  }
  if (q.metadata && Object.keys(q.metadata).length > 0) add((p) => `data -> 'metadata' @> ${p}::jsonb`, JSON.stringify(q.metadata));
  for (const [op, bound] of Object.entries(q.created ?? {}) as Array<[keyof CreatedRange, number | undefined]>) {
    if (bound !== undefined) add((p) => `created ${RANGE_SQL[op]} ${p}`, bound);
  }
  const cursor = q.startingAfter ?? q.endingBefore;
  if (cursor !== undefined) {
    const seq = await seqOf(db, cursor, q.object, q.startingAfter !== undefined ? 'starting_after' : 'ending_before');
    add((p) => (q.startingAfter !== undefined ? `seq < ${p}` : `seq > ${p}`), seq);
  }
  const newerFirst = q.endingBefore === undefined;
  values.push(q.limit + 1);
  const { rows } = await db.query<{ data: T }>(
    `select data from stripe_sandbox.objects where ${where.join(' and ')}
     order by seq ${newerFirst ? 'desc' : 'asc'} limit $${values.length}`,
    values,
  );
  const page = rows.slice(0, q.limit).map((r) => r.data);
  return { data: newerFirst ? page : page.reverse(), hasMore: rows.length > q.limit };
}

async function seqOf(db: Db, id: string, object: string, param: string): Promise<string> {
  const { rows } = await db.query<{ seq: string }>('select seq from stripe_sandbox.objects where id = $1 and object = $2', [id, object]);
  const row = rows[0];
  if (!row) throw invalidRequest(`No such ${object}: '${id}'`, { code: 'resource_missing', param });
  return row.seq;
}
