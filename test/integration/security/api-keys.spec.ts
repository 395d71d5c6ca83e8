import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { registerApiKeyCommands } from '../../../infra/cli/api-keys-commands';
import { get, post, startSecureApis, type SecureApis } from './support/apis';

/** The `ledger api-keys` commands, run in this process against the test database. */
function cli(apis: SecureApis) {
  return async (...args: string[]): Promise<{ stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const program = new Command('ledger').exitOverride();
    registerApiKeyCommands(program, {
      openDatabase: async () => ({ pool: apis.pool, close: async () => undefined }),
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    });
    await program.parseAsync(['node', 'ledger', 'api-keys', ...args]);
    return { stdout, stderr };
  };
}

const payment = { amount: 2000, currency: 'usd', customer_id: 'cus_keys', payment_method: 'pm_card_visa' };

describe('the API key lifecycle', () => {
  let apis: SecureApis;
  let ledger: ReturnType<typeof cli>;
  let merchant: string;
  const shown: string[] = [];

  beforeAll(async () => {
    apis = await startSecureApis();
    ledger = cli(apis);
    merchant = `m_keys_${randomUUID().slice(0, 8)}`;
  });
  afterAll(async () => {
    expect(apis.logs.leaks(shown)).toEqual([]);
    await apis.close();
  });

  const create = async (scopes = 'payments:write,payments:read', mode = 'test') => {
    const { stdout } = await ledger('create', '--merchant', merchant, '--scopes', scopes, '--mode', mode);
    const key = stdout.trim();
    shown.push(key);
    return key;
  };
  const read = (key: string) => apis.read(get('/v1/payments', key));

  it('creates a key with a recognisable prefix, shown once on stdout alone', async () => {
    const key = await create();
    expect(key).toMatch(/^lk_test_[0-9A-Za-z]{32}$/);
    expect(await create('payments:read', 'live')).toMatch(/^lk_live_[0-9A-Za-z]{32}$/);
    const { rows } = await apis.pool.query('select key_hash from api_keys where merchant_id = $1', [merchant]);
    expect(rows.map((row) => row.key_hash)).not.toContain(key);
    expect((await read(key)).status).toBe(200);
  });

  it('lists keys by id, mode, scopes and status, and never the key', async () => {
    const key = await create('audit:read');
    const { stdout } = await ledger('list', '--merchant', merchant, '--json');
    const listed = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(listed.length).toBeGreaterThanOrEqual(3);
    expect(listed).toContainEqual(expect.objectContaining({ merchant_id: merchant, mode: 'test', scopes: ['audit:read'], status: 'active', revoked_at: null }));
    expect(stdout).not.toMatch(/lk_(test|live)_/);
    expect(stdout).not.toContain(key);
    const plain = await ledger('list', '--merchant', merchant);
    expect(plain.stdout).toMatch(/^key_[0-9A-Za-z]{16} {2}m_keys_\w+ {2}test {2}audit:read {2}active$/m);
  });

  it('revokes a key by id: the very next request with it is refused', async () => {
    const key = await create();
    expect((await read(key)).status).toBe(200);
    const { stdout: list } = await ledger('list', '--merchant', merchant, '--json');
    const ids = list.trim().split('\n').map((line) => JSON.parse(line).id as string);
    const { rows } = await apis.pool.query('select id from api_keys where merchant_id = $1 order by created_at desc limit 1', [merchant]);
    expect(ids).toContain(rows[0].id);

    const revoked = await ledger('revoke', rows[0].id);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked ${rows[0].id} \\(${merchant}\\) at `));
    const reply = await read(key);
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 401, code: 'unauthorized' });
    expect((await apis.write(post('/v1/payments', payment, key, randomUUID()))).status).toBe(401);
    const after = await ledger('list', '--merchant', merchant, '--json');
    expect(after.stdout).not.toContain(rows[0].id);
    const all = await ledger('list', '--merchant', merchant, '--json', '--all');
    expect(all.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line))).toContainEqual(expect.objectContaining({ id: rows[0].id, status: 'revoked' }));
  });

  it('revokes a leaked key given as the key itself, and names it only by id', async () => {
    const key = await create();
    const { stdout } = await ledger('revoke', key);
    expect(stdout).toMatch(/^revoked key_[0-9A-Za-z]{16} /);
    expect(stdout).not.toContain(key);
    expect((await read(key)).status).toBe(401);
  });

  it('rotates a key at once: the new key works with the same scopes, the old one stops', async () => {
    const old = await create('payments:read');
    const { stdout, stderr } = await ledger('rotate', old);
    const fresh = stdout.trim();
    shown.push(fresh);
    expect(fresh).toMatch(/^lk_test_[0-9A-Za-z]{32}$/);
    expect(stderr).toMatch(/^rotated key_\w+ to key_\w+; the old key stops working at /);
    expect(stderr).not.toContain(old);
    expect((await read(old)).status).toBe(401);
    expect((await read(fresh)).status).toBe(200);
    // Same scopes: payments:read, not payments:write.
    expect((await apis.write(post('/v1/payments', payment, fresh, randomUUID()))).status).toBe(403);
  });

  it('rotates with a grace period: both keys work until it ends; a revoke cuts it short', async () => {
    const old = await create();
    const { stdout } = await ledger('rotate', old, '--grace', '3600');
    const fresh = stdout.trim();
    shown.push(fresh);
    expect((await read(old)).status).toBe(200);
    expect((await read(fresh)).status).toBe(200);
    const listed = (await ledger('list', '--merchant', merchant, '--json')).stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(listed.filter((key) => key.status === 'expiring')).toHaveLength(1);
    await ledger('revoke', old);
    expect((await read(old)).status).toBe(401);
    expect((await read(fresh)).status).toBe(200);
  });

  it('refuses to rotate a revoked key, and names unknown keys without echoing them', async () => {
    const key = await create();
    await ledger('revoke', key);
    await expect(ledger('rotate', key)).rejects.toThrow(/is revoked/);
    const unknown = 'lk_test_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ';
    const failure = ledger('revoke', unknown);
    await expect(failure).rejects.toThrow(/no API key matching the given lk_test_\.\.\. key/);
    await expect(ledger('revoke', 'key_0000000000000000')).rejects.toThrow(/no API key key_0000000000000000/);
    await expect(ledger('revoke', 'drop table api_keys')).rejects.toThrow(/name the key by its id/);
  });
});
