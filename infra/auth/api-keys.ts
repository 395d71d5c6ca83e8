import { createHash, randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { ApiKeyAuthenticator, Principal, Scope } from '../../ports/api-keys';
import { SCOPES } from '../../ports/api-keys';

/**
 * API keys: `lk_test_` or `lk_live_` followed by 32 random base62 characters (190 bits), so a
 * leaked key is easy to recognise in logs or code. Only sha256(key) is stored: with that much
 * entropy a slow hash adds nothing, and a fast one keeps every request to one indexed lookup.
 */
export type KeyMode = 'test' | 'live';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const API_KEY_PATTERN = /\blk_(?:test|live)_[0-9A-Za-z]{32}\b/g;

export interface CreatedApiKey {
  readonly id: string;
  readonly key: string;
  readonly merchantId: string;
  readonly scopes: readonly Scope[];
}

export function parseScopes(csv: string): Scope[] {
  const scopes = csv.split(',').map((scope) => scope.trim()).filter(Boolean);
  const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new Error(`scopes must be a comma-separated list of ${SCOPES.join(', ')}; got ${JSON.stringify(csv)}`);
  }
  return [...new Set(scopes)] as Scope[];
}

export const MERCHANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export async function createApiKey(
  pool: Pool | PoolClient,
  request: { merchantId: string; scopes: readonly Scope[]; mode?: KeyMode },
): Promise<CreatedApiKey> {
  if (!MERCHANT_ID.test(request.merchantId)) throw new Error('merchant id must be 1..64 of A-Z a-z 0-9 _ -');
  const mode = request.mode ?? 'test';
  const key = `lk_${mode}_${randomBase62(32)}`;
  const id = `key_${randomBase62(16)}`;
  await pool.query('insert into api_keys (id, key_hash, merchant_id, scopes, mode) values ($1, $2, $3, $4, $5)', [
    id,
    hashKey(key),
    request.merchantId,
    request.scopes,
    mode,
  ]);
  return { id, key, merchantId: request.merchantId, scopes: request.scopes };
}

export function postgresApiKeys(pool: Pool): ApiKeyAuthenticator {
  return {
    async authenticate(key: string): Promise<Principal | null> {
      if (!/^lk_(?:test|live)_[0-9A-Za-z]{32}$/.test(key)) return null;
      const result = await pool.query<{ id: string; merchant_id: string; scopes: Scope[] }>(
        // Read on every request, never cached, so that a revocation holds from the next request on;
        // a revocation in the future is a rotation's grace period.
        'select id, merchant_id, scopes from api_keys where key_hash = $1 and (revoked_at is null or revoked_at > now())',
        [hashKey(key)],
      );
      const row = result.rows[0];
      return row ? { keyId: row.id, merchantId: row.merchant_id, scopes: new Set(row.scopes) } : null;
    },
  };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function randomBase62(length: number): string {
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 62).
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}
