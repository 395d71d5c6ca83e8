import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { ApiResult } from './errors';

/** A claim older than this belongs to a request that died with its process; another may take the key over. */
const STALE_CLAIM_SECONDS = 120;

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; result: ApiResult }
  /** Refusals that are not saved: the caller may retry them. */
  | { kind: 'refused'; result: ApiResult };

export function scopeOf(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** Same endpoint and same parameters, whatever order the keys came in. */
export function requestHash(method: string, path: string, params: unknown): string {
  return createHash('sha256').update(stableJson({ method, path, params })).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Claims a key in its own short transaction, committed before the operation starts, so a second
 * request with the key sees the claim and gets 409 instead of running the operation twice.
 */
export async function claimKey(pool: Pool, scope: string, key: string, hash: string): Promise<Claim> {
  const inserted = await pool.query(
    `insert into stripe_sandbox.idempotency_keys (scope, key, request_hash, status) values ($1, $2, $3, 'in_flight')
     on conflict (scope, key) do nothing`,
    [scope, key, hash],
  );
  if (inserted.rowCount === 1) return { kind: 'claimed' };
  const { rows } = await pool.query<{ request_hash: string; status: string; response_status: number; response_body: unknown }>(
    'select request_hash, status, response_status, response_body from stripe_sandbox.idempotency_keys where scope = $1 and key = $2',
    [scope, key],
  );
  const row = rows[0];
  if (!row) return claimKey(pool, scope, key, hash);
  if (row.request_hash !== hash) return { kind: 'refused', result: mismatch(key) };
  if (row.status === 'done') return { kind: 'replay', result: { status: row.response_status, body: row.response_body } };
  const takenOver = await pool.query(
    `update stripe_sandbox.idempotency_keys set locked_at = now()
     where scope = $1 and key = $2 and status = 'in_flight' and locked_at < now() - make_interval(secs => $3)`,
    [scope, key, STALE_CLAIM_SECONDS],
  );
  if (takenOver.rowCount === 1) return { kind: 'claimed' };
  return { kind: 'refused', result: inUse() };
}

/** Saves the result; called inside the operation's transaction so the change and its answer commit together. */
export async function saveResult(db: Pool | PoolClient, scope: string, key: string, result: ApiResult): Promise<void> {
  await db.query(
    `update stripe_sandbox.idempotency_keys set status = 'done', response_status = $3, response_body = $4
     where scope = $1 and key = $2`,
    [scope, key, result.status, JSON.stringify(result.body)],
  );
}

/** A refused request (validation) is not saved: the key is free again for a corrected request. */
export async function releaseKey(pool: Pool, scope: string, key: string): Promise<void> {
  await pool.query(`delete from stripe_sandbox.idempotency_keys where scope = $1 and key = $2 and status = 'in_flight'`, [scope, key]);
}

function mismatch(key: string): ApiResult {
  return {
    status: 400,
    body: {
      error: {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      },
    },
  };
}

function inUse(): ApiResult {
  return {
    status: 409,
    body: {
      error: {
        type: 'invalid_request_error',
        code: 'idempotency_key_in_use',
        message:
          'There is currently another in-progress request using this Stripe Idempotency-Key. Please try again later; if this error persists, use a different key.',
      },
    },
  };
}
