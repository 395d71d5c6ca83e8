import { randomUUID } from 'node:crypto';
import { paymentStreamId } from '../../../commands/ids';
import { appendFacts, facts } from '../../support/payment-facts';
import { lastPositionOf, startReadSide, waitForProjections, type ReadSideHarness } from '../../support/read-side';

const merchant = () => `m_${randomUUID().slice(0, 8)}`;

describe('the read API over the payments read model', () => {
  let side: ReadSideHarness;
  let merchantA: string;
  let keyA: string;
  let keyB: string;
  let auditKeyA: string;

  beforeAll(async () => {
    side = await startReadSide();
    merchantA = merchant();
    ({ key: keyA } = await side.write.newKey(merchantA, ['payments:write', 'payments:read']));
    ({ key: auditKeyA } = await side.write.newKey(merchantA, ['audit:read']));
    ({ key: keyB } = await side.write.newKey(merchant(), ['payments:write', 'payments:read', 'audit:read']));
  });
  afterAll(() => side.close());

  const create = async (key: string, body: Record<string, unknown> = {}) => {
    const response = await side.write.post(
      '/v1/payments',
      { amount: 5000, currency: 'usd', customer_id: 'cus_1', payment_method: 'pm_card_visa', capture_method: 'manual', ...body },
      { key, idempotencyKey: randomUUID() },
    );
    expect(response.status).toBe(202);
    return response.body as { id: string; position: string };
  };
  const settle = async (ids: readonly string[]) => {
    const position = await lastPositionOf(side.pool, ids.map(paymentStreamId));
    if (position) await waitForProjections(side.pool, position);
  };

  describe('when a payment was just created', () => {
    it('finds it on the first read that carries its position in X-Min-Position', async () => {
      const created = await create(keyA, { description: 'Order 7', metadata: { order_id: '7' } });
      const response = await side.get(`/v1/payments/${created.id}`, keyA, { 'X-Min-Position': created.position });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-projection-lagging')).toBe('false');
      expect(response.body).toMatchObject({
        id: created.id,
        object: 'payment',
        status: 'requested',
        amount: 5000,
        currency: 'usd',
        customer_id: 'cus_1',
        capture_method: 'manual',
        amount_captured: 0,
        amount_refunded: 0,
        fee: null,
        net: null,
        description: 'Order 7',
        metadata: { order_id: '7' },
        revision: 0,
        position: created.position,
      });
    });

    it('answers the same representation as the write API', async () => {
      const response = await side.write.post(
        '/v1/payments',
        { amount: 1234, currency: 'jpy', customer_id: 'cus_2', payment_method: 'pm_card_visa' },
        { key: keyA, idempotencyKey: randomUUID() },
      );
      const read = await side.get(`/v1/payments/${response.body.id}`, keyA, { 'X-Min-Position': response.body.position });
      expect(read.body).toEqual(response.body);
    });
  });

  describe('when the projection cannot reach X-Min-Position in time', () => {
    it('answers with what it has and says that it lags', async () => {
      const created = await create(keyA);
      const [commit] = created.position.split(':');
      const far = `${BigInt(commit!) + 1_000_000n}:1`;
      const quick = await startReadSide({ runners: false, minPositionTimeoutMs: 200 });
      try {
        const response = await quick.get(`/v1/payments/${created.id}`, keyA, { 'X-Min-Position': far });
        expect(response.headers.get('x-projection-lagging')).toBe('true');
        expect(response.headers.get('x-projection-position')).toMatch(/^\d+:\d+$/);
      } finally {
        await quick.close();
      }
    });

    it('rejects a malformed X-Min-Position with 400 validation_failed', async () => {
      const response = await side.get(`/v1/payments/${randomUUID()}`, keyA, { 'X-Min-Position': 'soon' });
      expect(response.status).toBe(400);
      expect(response.contentType).toContain('application/problem+json');
      expect(response.body.code).toBe('validation_failed');
    });
  });

  describe('merchant isolation', () => {
    it("answers 404 payment_not_found for another merchant's payment", async () => {
      const created = await create(keyA);
      await settle([created.id]);
      const response = await side.get(`/v1/payments/${created.id}`, keyB);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('payment_not_found');
      expect((await side.get(`/v1/payments/${created.id}`, keyA)).status).toBe(200);
    });

    it("never lists another merchant's payments, nor pages from one", async () => {
      const created = await create(keyA);
      await settle([created.id]);
      const list = await side.get('/v1/payments?limit=100', keyB);
      expect(list.status).toBe(200);
      expect(list.body.data.map((p: { id: string }) => p.id)).not.toContain(created.id);
      const paged = await side.get(`/v1/payments?starting_after=${created.id}`, keyB);
      expect(paged.status).toBe(404);
      expect(paged.body.code).toBe('payment_not_found');
    });

    it("answers 404 for another merchant's events and 403 without audit:read", async () => {
      const created = await create(keyA);
      expect((await side.get(`/v1/payments/${created.id}/events`, keyA)).status).toBe(403);
      expect((await side.get(`/v1/payments/${created.id}/events`, keyB)).status).toBe(404);
      const own = await side.get(`/v1/payments/${created.id}/events`, auditKeyA);
      expect(own.status).toBe(200);
      expect(own.body.chain).toEqual({ verified: true });
      expect(own.body.data[0]).toMatchObject({ type: 'PaymentRequested', revision: 0, position: created.position, prev_hash: '' });
      expect(own.body.data[0].hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('needs payments:read to read payments', async () => {
      const created = await create(keyA);
      const response = await side.get(`/v1/payments/${created.id}`, auditKeyA);
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('forbidden');
    });
  });

  describe('listing', () => {
    let key: string;
    let ids: string[];

    beforeAll(async () => {
      ({ key } = await side.write.newKey(merchant(), ['payments:write', 'payments:read']));
      ids = [];
      for (let i = 0; i < 5; i += 1) ids.push((await create(key, { customer_id: i % 2 === 0 ? 'cus_even' : 'cus_odd' })).id);
      await appendFacts(side.write.store, ids[0]!, [facts.authorized(5000)]);
      await settle(ids);
    });

    it('pages newest first with a cursor, never repeating or skipping a payment', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await side.get(`/v1/payments?limit=2${cursor ? `&starting_after=${cursor}` : ''}`, key);
        expect(page.status).toBe(200);
        seen.push(...page.body.data.map((p: { id: string }) => p.id));
        if (!page.body.has_more) break;
        cursor = seen[seen.length - 1];
      }
      expect(seen).toHaveLength(5);
      expect(new Set(seen)).toEqual(new Set(ids));
      const all = await side.get('/v1/payments?limit=100', key);
      expect(all.body.data.map((p: { id: string }) => p.id)).toEqual(seen);
      const created = all.body.data.map((p: { created_at: string }) => p.created_at);
      expect([...created].sort().reverse()).toEqual(created);
    });

    it('filters by status, customer and creation time', async () => {
      const authorized = await side.get('/v1/payments?status=authorized', key);
      expect(authorized.body.data.map((p: { id: string }) => p.id)).toEqual([ids[0]]);
      const even = await side.get('/v1/payments?customer_id=cus_even&limit=100', key);
      expect(even.body.data).toHaveLength(3);
      const future = await side.get('/v1/payments?created_gte=2999-01-01', key);
      expect(future.body).toEqual({ object: 'list', data: [], has_more: false });
      const past = await side.get(`/v1/payments?created_lt=${Math.floor(Date.now() / 1000) + 60}&limit=100`, key);
      expect(past.body.data).toHaveLength(5);
    });

    it.each([
      'limit=0',
      'limit=101',
      'limit=1e2',
      'limit=abc',
      'status=paid',
      'created_gte=yesterday',
      'created_lt=2025-13-45',
      'starting_after=not-a-payment',
      'limit=1&limit=2',
      'colour=blue',
      'customer_id=%00',
    ])('rejects %s with 400 validation_failed', async (query) => {
      const response = await side.get(`/v1/payments?${query}`, key);
      expect(response.status).toBe(400);
      expect(response.contentType).toContain('application/problem+json');
      expect(response.body.code).toBe('validation_failed');
    });

    it('answers 404 for an id that is not a payment id, and 401 without a key', async () => {
      expect((await side.get('/v1/payments/%00abc', key)).status).toBe(404);
      expect((await side.get('/v1/payments/%ff%fe', key)).status).toBe(400);
      expect((await side.get(`/v1/payments/${'9'.repeat(5000)}`, key)).status).toBe(404);
      expect((await side.get('/v1/payments', 'lk_test_nope')).status).toBe(401);
    });
  });
});
