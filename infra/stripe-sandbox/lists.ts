import { invalidRequest } from './errors';
import type { StripeObject } from './objects';
import { optionalInteger, optionalObject, optionalString, type Params } from './params';
import { listObjects, type CreatedRange, type Db, type ListQuery } from './store';
import { expandObject } from './expand';
import { expandPaths } from './params';

/** Stripe's list envelope. */
export interface ListBody<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export function pageParams(params: Params): Pick<ListQuery, 'limit' | 'startingAfter' | 'endingBefore' | 'created'> {
  const startingAfter = optionalString(params, 'starting_after');
  const endingBefore = optionalString(params, 'ending_before');
  if (startingAfter && endingBefore) throw invalidRequest('You may only specify one of these parameters: ending_before, starting_after.');
  return { limit: optionalInteger(params, 'limit', 1, 100) ?? 10, startingAfter, endingBefore, created: createdRange(params) };
}

/** `created` is either a timestamp or a range `created[gt|gte|lt|lte]`. */
function createdRange(params: Params): CreatedRange | undefined {
  if (typeof params.created === 'string') {
    const at = optionalInteger(params, 'created', 0, Number.MAX_SAFE_INTEGER);
    return { gte: at, lte: at };
  }
  const range = optionalObject(params, 'created');
  if (!range) return undefined;
  const out: CreatedRange = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    out[op] = optionalInteger(range, op, 0, Number.MAX_SAFE_INTEGER);
  }
  for (const key of Object.keys(range)) {
    if (!['gt', 'gte', 'lt', 'lte'].includes(key)) throw invalidRequest(`Received unknown parameter: created[${key}]`, { param: `created[${key}]` });
  }
  return out;
}

export async function listBody<T extends StripeObject>(db: Db, url: string, query: ListQuery, params: Params): Promise<ListBody<T>> {
  const page = await listObjects<T>(db, query);
  const body: ListBody<T> = { object: 'list', data: page.data, has_more: page.hasMore, url };
  return expandObject(db, body, expandPaths(params));
}
