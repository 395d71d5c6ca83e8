import type { Pool } from 'pg';
import type { Scope } from '../../ports/api-keys';
import type { CreatedApiKey, KeyMode } from './api-keys';
import { createApiKey, hashKey, MERCHANT_ID } from './api-keys';

/**
 * Listing, revoking and rotating API keys. A key is never shown again after it is made: keys are
 * named by their id (`key_...`), and a leaked key can be revoked by pasting the key itself, which
 * is hashed to find its row.
 */
export interface ApiKeyRecord {
  readonly id: string;
  readonly merchantId: string;
  readonly scopes: readonly Scope[];
  readonly mode: KeyMode;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  /** `revoked` once revoked_at has passed; `expiring` during a rotation's grace period. */
  readonly status: 'active' | 'expiring' | 'revoked';
}

interface KeyRow {
  id: string;
  merchant_id: string;
  scopes: Scope[];
  mode: KeyMode;
  created_at: Date;
  revoked_at: Date | null;
  revoked: boolean;
}

const COLUMNS = 'id, merchant_id, scopes, mode, created_at, revoked_at, (revoked_at is not null and revoked_at <= now()) as revoked';
const KEY_ID = /^key_[0-9A-Za-z]{16}$/;
const FULL_KEY = /^lk_(?:test|live)_[0-9A-Za-z]{32}$/;

export class ApiKeyNotFoundError extends Error {
  override readonly name = 'ApiKeyNotFoundError';
}

export async function listApiKeys(pool: Pool, filter: { merchantId?: string; includeRevoked?: boolean } = {}): Promise<ApiKeyRecord[]> {
  if (filter.merchantId !== undefined && !MERCHANT_ID.test(filter.merchantId)) throw new Error('merchant id must be 1..64 of A-Z a-z 0-9 _ -');
  const { rows } = await pool.query<KeyRow>(
    `select ${COLUMNS} from api_keys
      where ($1::text is null or merchant_id = $1) and ($2 or revoked_at is null or revoked_at > now())
      order by merchant_id, created_at, id`,
    [filter.merchantId ?? null, filter.includeRevoked ?? false],
  );
  return rows.map(toRecord);
}

/**
 * Revokes a key (by id, or by the key itself) at once, cutting short a rotation's grace period.
 * Revoking a key that is already revoked keeps its first revocation time.
 */
export async function revokeApiKey(pool: Pool, idOrKey: string): Promise<ApiKeyRecord> {
  const { rows } = await pool.query<KeyRow>(
    `update api_keys set revoked_at = least(coalesce(revoked_at, 'infinity'), now())
      where ${whereKey(idOrKey)} returning ${COLUMNS}`,
    [lookupValue(idOrKey)],
  );
  if (!rows[0]) throw new ApiKeyNotFoundError(`no API key ${describe(idOrKey)}`);
  return toRecord(rows[0]);
}

/**
 * Makes a new key with the same merchant, scopes and mode, and revokes the old one, at once or
 * after `graceSeconds` so that deployments can switch over. Both happen in one transaction.
 */
export async function rotateApiKey(
  pool: Pool,
  idOrKey: string,
  options: { graceSeconds?: number } = {},
): Promise<{ created: CreatedApiKey; revoked: ApiKeyRecord }> {
  const grace = options.graceSeconds ?? 0;
  if (!Number.isSafeInteger(grace) || grace < 0 || grace > 30 * 86_400) throw new Error('the grace period must be 0 to 2592000 seconds');
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<KeyRow>(
      `select ${COLUMNS} from api_keys where ${whereKey(idOrKey)} for update`,
      [lookupValue(idOrKey)],
    );
    const old = rows[0];
    if (!old) throw new ApiKeyNotFoundError(`no API key ${describe(idOrKey)}`);
    if (old.revoked) throw new Error(`API key ${old.id} is revoked; create a new one instead`);
    const created = await createApiKey(client, { merchantId: old.merchant_id, scopes: old.scopes, mode: old.mode });
    const revoked = await client.query<KeyRow>(
      `update api_keys set revoked_at = least(coalesce(revoked_at, 'infinity'), now() + make_interval(secs => $2))
        where id = $1 returning ${COLUMNS}`,
      [old.id, grace],
    );
    await client.query('commit');
    return { created, revoked: toRecord(revoked.rows[0]!) };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function whereKey(idOrKey: string): string {
  return FULL_KEY.test(idOrKey) ? 'key_hash = $1' : 'id = $1';
}

function lookupValue(idOrKey: string): string {
  if (FULL_KEY.test(idOrKey)) return hashKey(idOrKey);
  if (KEY_ID.test(idOrKey)) return idOrKey;
  throw new Error('name the key by its id (key_ and 16 characters) or by the key itself (lk_test_... or lk_live_...)');
}

/** A message may name a key id; never the key itself. */
function describe(idOrKey: string): string {
  return FULL_KEY.test(idOrKey) ? `matching the given ${idOrKey.slice(0, 8)}... key` : idOrKey;
}

function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    scopes: row.scopes,
    mode: row.mode,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    status: row.revoked ? 'revoked' : row.revoked_at ? 'expiring' : 'active',
  };
}
