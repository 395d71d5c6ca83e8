import { invalidRequest } from './errors';
import type { StripeObject } from './objects';
import { getObject, type Db } from './store';

/** Id prefixes of the objects the sandbox stores, so any field holding one of them can be expanded. */
const EXPANDABLE_PREFIXES = ['pi_', 'ch_', 're_', 'txn_', 'evt_'];

/**
 * Applies `expand[]` paths such as `latest_charge.balance_transaction` to a copy of `obj`: each
 * segment replaces an id by the object it names, then the rest of the path applies to that object.
 * Lists take paths under `data.`, as Stripe's do.
 */
export async function expandObject<T>(db: Db, obj: T, paths: readonly string[]): Promise<T> {
  let out: unknown = obj;
  for (const path of paths) out = await expandPath(db, out, path.split('.'));
  return out as T;
}

async function expandPath(db: Db, value: unknown, segments: string[]): Promise<unknown> {
  const [head, ...rest] = segments;
  if (head === undefined || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return Promise.all(value.map((item) => expandPath(db, item, segments)));
  const record = value as Record<string, unknown>;
  if (!(head in record)) throw invalidRequest(`This property cannot be expanded (${head}).`, { param: 'expand' });
  let field = record[head];
  if (head === 'data' && Array.isArray(field)) {
    return { ...record, data: await expandPath(db, field, rest) };
  }
  if (typeof field === 'string') {
    const id = field;
    if (!EXPANDABLE_PREFIXES.some((p) => id.startsWith(p))) {
      throw invalidRequest(`This property cannot be expanded (${head}).`, { param: 'expand' });
    }
    field = (await getObject<StripeObject>(db, id)) ?? id;
  }
  return { ...record, [head]: await expandPath(db, field, rest) };
}
