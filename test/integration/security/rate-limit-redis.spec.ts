import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { createApiKey } from '../../../infra/auth/api-keys';
import { migrate } from '../../../infra/postgres/migrate';
import { testDatabaseUrl, testPool } from '../../support/postgres';
import { get, post, send, startSecureApis, type Reply, type SecureApis } from './support/apis';

/**
 * The per-key limit is one count across every instance of an API when they share Redis. Runs
 * where the run was given a Redis (TEST_REDIS_URL: always in CI).
 */
const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) throw new Error('this file needs TEST_REDIS_URL; scripts/test-postgres.js leaves it out of runs without Redis');

const LEDGER = join(__dirname, '..', '..', '..', 'bin', 'ledger.js');
const payment = { amount: 2000, currency: 'usd', customer_id: 'cus_rl', payment_method: 'pm_card_visa' };

describe('rate limits shared through Redis, between two instances in this process', () => {
  const clients: IORedis[] = [];
  let one: SecureApis;
  let two: SecureApis;

  beforeAll(async () => {
    // Counters of this run only, apart from any other run on the same Redis.
    const prefix = `ledger-test:${randomUUID()}`;
    const options = () => {
      const client = new IORedis(redisUrl!, { maxRetriesPerRequest: 1 });
      clients.push(client);
      return { rateLimit: { perKey: 6, windowMs: 60_000, redis: client, prefix } };
    };
    one = await startSecureApis({ security: options() });
    two = await startSecureApis({ security: options() });
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    for (const client of clients) client.disconnect();
  });

  it('lets a key make 6 requests in all, whichever instance they reach', async () => {
    const { key } = await one.newKey(`m_rl_${randomUUID().slice(0, 8)}`);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await (i % 2 === 0 ? one : two).read(get('/v1/payments', key))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  });
});

describe('rate limits shared through Redis, between two write-API processes', () => {
  const children: ChildProcess[] = [];
  const agent = new Agent({ keepAlive: true });
  let urls: string[];
  let key: string;
  let keyId: string;
  const pool = testPool(2);

  beforeAll(async () => {
    await migrate(pool);
    const created = await createApiKey(pool, { merchantId: `m_rlp_${randomUUID().slice(0, 8)}`, scopes: ['payments:write'] });
    key = created.key;
    keyId = created.id;
    urls = await Promise.all([startWriteApiProcess(children), startWriteApiProcess(children)]);
  });
  afterAll(async () => {
    agent.destroy();
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)))));
    await pool.end();
  });

  it('refuses the 11th command of a key with 429 rate_limited, whichever process takes it, and stores 10', async () => {
    expect(new Set(urls).size).toBe(2);
    const replies: Reply[] = [];
    for (let i = 0; i < 14; i += 1) replies.push(await send(agent, urls[i % 2]!, post('/v1/payments', payment, key, `rl-${i}`)));
    expect(replies.map((reply) => reply.status)).toEqual([...Array(10).fill(202), 429, 429, 429, 429]);
    const limited = replies[10]!;
    expect(limited.json).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const { rows } = await pool.query("select count(*)::int as n from events where metadata->>'actor' = $1", [keyId]);
    expect(rows[0].n).toBe(10);
  });
});

/** `ledger start --role write-api` from the compiled CLI, on a free port, with a limit of 10 per minute. */
function startWriteApiProcess(children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, [LEDGER, 'start', '--role', 'write-api'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: redisUrl,
      WRITE_API_PORT: '0',
      RATE_LIMIT_PER_KEY: '10',
      RATE_LIMIT_WINDOW_MS: '60000',
      LOG_LEVEL: 'warn',
      LEDGER_DATA_DIR: mkdtempSync(join(tmpdir(), 'ledger-rl-')),
      STRIPE_SUPPRESS_NOTICES: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the write API did not start: ${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /write-api\s+(http:\/\/\S+)/.exec(output);
      if (url && output.includes('ledger started')) {
        clearTimeout(timer);
        resolve(url[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the write API exited with ${code}: ${output}`)));
  });
}
