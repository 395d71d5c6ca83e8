import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createPaymentHandler, type CreatePaymentInput } from '../../../commands/create-payment';
import { paymentStreamId } from '../../../commands/ids';
import type { CallContext } from '../../../commands/outcome';
import type { EventStore } from '../../../ports/event-store';
import { startWriteApi, type WriteApiHarness } from '../../support/write-api';

const body = (overrides: Record<string, unknown> = {}) => ({
  amount: 2000,
  currency: 'usd',
  customer_id: 'cus_123',
  payment_method: 'pm_card_visa',
  ...overrides,
});

describe('POST /v1/payments', () => {
  let api: WriteApiHarness;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    api = await startWriteApi();
    ({ key, id: keyId } = await api.newKey(`m_${randomUUID().slice(0, 8)}`));
  });
  afterAll(() => api.close());

  const eventsBy = async (actor: string) =>
    Number((await api.pool.query("select count(*) from events where metadata->>'actor' = $1", [actor])).rows[0].count);

  describe('when the key is new', () => {
    it('answers 202 with the payment and appends one PaymentRequested', async () => {
      const idempotencyKey = randomUUID();
      const response = await api.post('/v1/payments', body({ capture_method: 'manual', metadata: { order: 'o-1' } }), { key, idempotencyKey });

      expect(response.status).toBe(202);
      expect(response.headers.get('idempotent-replayed')).toBeNull();
      expect(response.body).toMatchObject({
        object: 'payment',
        status: 'requested',
        amount: 2000,
        currency: 'usd',
        customer_id: 'cus_123',
        capture_method: 'manual',
        amount_captured: 0,
        amount_refunded: 0,
        revision: 0,
      });
      expect(response.body.position).toMatch(/^\d+:\d+$/);
      const events = await api.store.read(paymentStreamId(response.body.id));
      expect(events.map((event) => event.type)).toEqual(['PaymentRequested']);
      expect(events[0]!.data).toMatchObject({ payment_id: response.body.id, amount: 2000, metadata: { order: 'o-1' } });
      expect(events[0]!.metadata).toMatchObject({ idempotency_key: idempotencyKey, actor: keyId, source: 'write-api' });
    });
  });

  describe('when the same key comes again', () => {
    it('replays the payment with the original status and appends nothing', async () => {
      const idempotencyKey = randomUUID();
      const first = await api.post('/v1/payments', body(), { key, idempotencyKey });
      // Key order and spacing do not make a different request.
      const again = await api.request({
        method: 'POST',
        path: '/v1/payments',
        headers: { authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey, 'content-type': 'application/json' },
        body: '{ "payment_method": "pm_card_visa", "customer_id": "cus_123", "currency": "usd", "amount": 2000 }',
      });

      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await api.store.read(paymentStreamId(first.body.id))).toHaveLength(1);
    });

    it('rejects a different body with 422 idempotency_key_reused and appends nothing', async () => {
      const idempotencyKey = randomUUID();
      const first = await api.post('/v1/payments', body(), { key, idempotencyKey });
      const before = await eventsBy(keyId);

      const reused = await api.post('/v1/payments', body({ amount: 2001 }), { key, idempotencyKey });

      expect(reused.status).toBe(422);
      expect(reused.contentType).toContain('application/problem+json');
      expect(reused.body.code).toBe('idempotency_key_reused');
      expect(await eventsBy(keyId)).toBe(before);
      expect(await api.store.read(paymentStreamId(first.body.id))).toHaveLength(1);
    });

    it('keeps keys apart between merchants: the same key makes two payments', async () => {
      const other = await api.newKey(`m_${randomUUID().slice(0, 8)}`);
      const idempotencyKey = randomUUID();
      const mine = await api.post('/v1/payments', body(), { key, idempotencyKey });
      const theirs = await api.post('/v1/payments', body(), { key: other.key, idempotencyKey });
      expect(mine.status).toBe(202);
      expect(theirs.status).toBe(202);
      expect(theirs.body.id).not.toBe(mine.body.id);
      expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    });
  });

  describe('when the Idempotency-Key header is missing', () => {
    it('answers 400 idempotency_key_missing and appends nothing', async () => {
      const before = await eventsBy(keyId);
      const response = await api.post('/v1/payments', body(), { key });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('idempotency_key_missing');
      expect(await eventsBy(keyId)).toBe(before);
    });
  });

  describe('when many identical requests race', () => {
    it('makes exactly one stream with one PaymentRequested, and all but one response are replays', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 64 }), async (n) => {
          const idempotencyKey = randomUUID();
          const responses = await Promise.all(
            Array.from({ length: n }, () => api.post('/v1/payments', body(), { key, idempotencyKey })),
          );
          expect(responses.map((r) => r.status)).toEqual(Array(n).fill(202));
          const ids = new Set(responses.map((r) => r.body.id));
          expect(ids.size).toBe(1);
          const replayed = responses.filter((r) => r.headers.get('idempotent-replayed') === 'true');
          expect(replayed).toHaveLength(n - 1);
          const [paymentId] = [...ids];
          const events = await api.store.read(paymentStreamId(paymentId));
          expect(events.map((event) => event.type)).toEqual(['PaymentRequested']);
          const streams = await api.pool.query("select count(*) from events where metadata->>'idempotency_key' = $1", [idempotencyKey]);
          expect(Number(streams.rows[0].count)).toBe(1);
        }),
        { numRuns: 12 },
      );
    });
  });
});

describe('the create payment handler', () => {
  let api: WriteApiHarness;
  let reads: string[];
  let appendedIds: string[];
  let store: EventStore;

  beforeAll(async () => {
    api = await startWriteApi();
  });
  afterAll(() => api.close());
  beforeEach(() => {
    reads = [];
    appendedIds = [];
    store = {
      ...api.store,
      read: (streamId) => {
        reads.push(streamId);
        return api.store.read(streamId);
      },
      append: (streamId, events, expected) => {
        appendedIds.push(...events.map((event) => event.id!));
        return api.store.append(streamId, events, expected);
      },
    };
  });

  const input = (amount = 2000): CreatePaymentInput => ({ amount, currency: 'usd', customer_id: 'cus_1', payment_method: 'pm_card_visa', capture_method: 'manual' });
  const context = (idempotencyKey: string): CallContext => ({
    merchantId: 'm_handler',
    actor: 'key_handler',
    idempotencyKey,
    correlationId: randomUUID(),
    now: new Date('2026-01-02T03:04:05.000Z'),
  });

  describe('when the key is new', () => {
    it('appends the PaymentRequested without reading the stream first', async () => {
      const outcome = await createPaymentHandler(store)(input(), context(randomUUID()));

      expect(outcome).toMatchObject({ kind: 'accepted', replayed: false, revision: 0 });
      expect(reads).toEqual([]);
    });

    it('returns the decider\'s rejection for a body it refuses, and appends nothing', async () => {
      const idempotencyKey = randomUUID();
      const outcome = await createPaymentHandler(store)(input(0), context(idempotencyKey));

      expect(outcome).toMatchObject({ kind: 'rejected', rejection: 'amount_out_of_range' });
      expect(reads).toHaveLength(1);
      expect(await api.store.read(reads[0]!)).toEqual([]);
    });
  });

  describe('when the key was used', () => {
    it('replays the payment after the append finds the stream taken', async () => {
      const idempotencyKey = randomUUID();
      const first = await createPaymentHandler(store)(input(), context(idempotencyKey));
      const again = await createPaymentHandler(store)(input(), context(idempotencyKey));

      expect(again).toEqual({ ...first, replayed: true });
      expect(reads).toHaveLength(1);
    });

    it('tries the append with an event id of its own, so that a store that recognises repeated ids cannot take it for the first', async () => {
      const idempotencyKey = randomUUID();
      await createPaymentHandler(store)(input(), context(idempotencyKey));
      await createPaymentHandler(store)(input(), context(idempotencyKey));

      expect(appendedIds).toHaveLength(2);
      expect(new Set(appendedIds).size).toBe(2);
    });

    it('answers idempotency_key_reused to a body the decider refuses, as to any other body', async () => {
      const idempotencyKey = randomUUID();
      await createPaymentHandler(store)(input(), context(idempotencyKey));

      expect(await createPaymentHandler(store)(input(0), context(idempotencyKey))).toEqual({ kind: 'idempotency_key_reused' });
    });
  });
});
