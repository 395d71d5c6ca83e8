import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../../ports/event-store';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { testPool } from '../../support/postgres';
import { get, post, startSecureApis, type Reply, type SecureApis } from './support/apis';

const payment = { amount: 2000, currency: 'usd', customer_id: 'cus_limits', payment_method: 'pm_card_visa' };
const merchant = () => `m_lim_${randomUUID().slice(0, 8)}`;

function expectRateLimited(reply: Reply): void {
  expect(reply.status).toBe(429);
  expect(reply.headers['content-type']).toContain('application/problem+json');
  expect(reply.json).toMatchObject({ status: 429, code: 'rate_limited', type: 'urn:payment-ledger:problem:rate_limited' });
  const retryAfter = Number(reply.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(reply.json.retry_after).toBe(retryAfter);
}

describe('when a key goes over its rate limit', () => {
  let apis: SecureApis;
  beforeAll(async () => {
    apis = await startSecureApis({ security: { rateLimit: { perKey: 3, windowMs: 60_000, failedAuthPerClient: 1000 } } });
  });
  afterAll(async () => {
    expect(apis.logs.leaks()).toEqual([]);
    await apis.close();
  });

  it('answers 429 rate_limited with Retry-After once the key has made its 3 requests, and not before', async () => {
    const { key } = await apis.newKey(merchant());
    const replies: Reply[] = [];
    for (let i = 0; i < 4; i += 1) replies.push(await apis.read(get('/v1/payments', key)));
    expect(replies.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies[0]!.headers.ratelimit).toMatch(/limit=3, remaining=2/);
    expectRateLimited(replies[3]!);
  });

  it('counts each key on its own', async () => {
    const id = merchant();
    const first = await apis.newKey(id);
    const second = await apis.newKey(id);
    for (let i = 0; i < 3; i += 1) await apis.read(get('/v1/payments', first.key));
    expectRateLimited(await apis.read(get('/v1/payments', first.key)));
    expect((await apis.read(get('/v1/payments', second.key))).status).toBe(200);
  });

  it('stores nothing for a command it refuses', async () => {
    const { key, id } = await apis.newKey(merchant());
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await apis.write(post('/v1/payments', payment, key, `order-${i}`))).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    const { rows } = await apis.pool.query("select metadata->>'idempotency_key' as k from events where metadata->>'actor' = $1 order by k", [id]);
    expect(rows.map((row) => row.k)).toEqual(['order-0', 'order-1', 'order-2']);
  });
});

describe('when a client keeps sending keys that do not authenticate', () => {
  let apis: SecureApis;
  beforeAll(async () => {
    apis = await startSecureApis({ security: { rateLimit: { perKey: 1000, failedAuthPerClient: 3, windowMs: 60_000 } } });
  });
  afterAll(() => apis.close());

  it('does not count requests with a valid key, and cuts the client off after 3 failures', async () => {
    const { key } = await apis.newKey(merchant());
    for (let i = 0; i < 6; i += 1) expect((await apis.read(get('/v1/payments', key))).status).toBe(200);
    const made = () => `lk_test_${randomUUID().replace(/-/g, '')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await apis.read(get('/v1/payments', made()))).status);
    expect(statuses).toEqual([401, 401, 401]);
    expectRateLimited(await apis.read(get('/v1/payments', made())));
  });
});

describe('response headers and CORS', () => {
  let closed: SecureApis;
  let open: SecureApis;
  beforeAll(async () => {
    closed = await startSecureApis();
    open = await startSecureApis({ security: { corsOrigins: ['https://dashboard.example.com'] } });
  });
  afterAll(async () => {
    await closed.close();
    await open.close();
  });

  it('sends helmet headers and no X-Powered-By on both APIs', async () => {
    for (const reply of [await closed.read(get('/v1/payments', 'nope')), await closed.write({ method: 'POST', path: '/v1/payments' })]) {
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(reply.headers['content-security-policy']).toContain("default-src 'self'");
      expect(reply.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('keeps CORS closed when no origin is configured', async () => {
    const preflight = await closed.write({
      method: 'OPTIONS',
      path: '/v1/payments',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await closed.read(get('/v1/payments', 'nope', { origin: 'https://evil.example' }));
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows a configured origin, and only that one', async () => {
    const preflight = (origin: string) =>
      open.write({
        method: 'OPTIONS',
        path: '/v1/payments',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,idempotency-key,content-type' },
      });
    const allowed = await preflight('https://dashboard.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://dashboard.example.com');
    expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain('idempotency-key');
    const other = await preflight('https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('page sizes', () => {
  let apis: SecureApis;
  let key: string;
  let who: string;
  beforeAll(async () => {
    apis = await startSecureApis();
    who = merchant();
    key = (await apis.newKey(who)).key;
  });
  afterAll(() => apis.close());

  it.each([
    ['/v1/payments?limit=101'],
    ['/v1/payments?limit=1000000'],
    ['/v1/payments?limit=0'],
    ['/v1/payments?limit=-1'],
    ['/v1/payments?limit=1e2'],
    ['/v1/payments?limit=10&limit=20'],
    ['/v1/ledger/accounts/merchant_payable:WHO/entries?limit=101'],
  ])('refuses %s with validation_failed naming limit', async (path) => {
    const reply = await apis.read(get(path.replace('WHO', who), key));
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ code: 'validation_failed', errors: [expect.objectContaining({ field: 'limit' })] });
  });

  it('takes 100, the largest page', async () => {
    expect((await apis.read(get('/v1/payments?limit=100', key))).status).toBe(200);
    expect((await apis.read(get(`/v1/ledger/accounts/merchant_payable:${who}/entries?limit=100`, key))).status).toBe(200);
  });
});

describe('when a request takes longer than the deadline', () => {
  let apis: SecureApis;
  let slowAppends = 1;
  beforeAll(async () => {
    const pool = testPool(5);
    const real = createPostgresEventStore(pool);
    // The first append of the test takes 400 ms; the deadline is 150 ms.
    const slow: EventStore = {
      append: async (...args: Parameters<EventStore['append']>) => {
        if (slowAppends-- > 0) await new Promise((resolve) => setTimeout(resolve, 400));
        return real.append(...args);
      },
      readAll: (...args) => real.readAll(...args),
      close: async () => undefined,
      read: (...args) => real.read(...args),
    };
    apis = await startSecureApis({ writeStore: slow, security: { requestTimeoutMs: 150 } });
    apis.close = ((close) => async () => {
      await close();
      await real.close();
      await pool.end();
    })(apis.close);
  });
  afterAll(() => apis.close());

  it('answers 503 request_timeout, and a retry with the same Idempotency-Key gets the one payment', async () => {
    const { key, id } = await apis.newKey(merchant());
    const first = await apis.write(post('/v1/payments', payment, key, 'slow-order'));
    expect(first.status).toBe(503);
    expect(first.json).toMatchObject({ code: 'request_timeout', status: 503 });
    expect(first.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const retry = await apis.write(post('/v1/payments', payment, key, 'slow-order'));
    expect(retry.status).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const { rows } = await apis.pool.query("select count(*)::int as n from events where metadata->>'actor' = $1", [id]);
    expect(rows[0].n).toBe(1);
  });
});
