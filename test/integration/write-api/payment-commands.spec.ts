import { randomUUID } from 'node:crypto';
import { paymentStreamId } from '../../../commands/ids';
import { startWriteApi, type WriteApiHarness } from '../../support/write-api';
import { appendFacts, facts } from '../../support/payment-facts';

describe('capture, cancel and refund over HTTP', () => {
  let api: WriteApiHarness;
  let key: string;

  beforeAll(async () => {
    api = await startWriteApi();
    ({ key } = await api.newKey(`m_${randomUUID().slice(0, 8)}`));
  });
  afterAll(() => api.close());

  const create = async (amount = 5000, captureMethod = 'manual') => {
    const response = await api.post(
      '/v1/payments',
      { amount, currency: 'usd', customer_id: 'cus_1', payment_method: 'pm_card_visa', capture_method: captureMethod },
      { key, idempotencyKey: randomUUID() },
    );
    expect(response.status).toBe(202);
    return response.body.id as string;
  };
  const call = (paymentId: string, action: string, body: unknown = {}, idempotencyKey = randomUUID()) =>
    api.post(`/v1/payments/${paymentId}/${action}`, body, { key, idempotencyKey });
  const types = async (paymentId: string) => (await api.store.read(paymentStreamId(paymentId))).map((event) => event.type);

  describe('when the payment is only requested', () => {
    it('rejects a capture with 409 invalid_state_transition and appends nothing', async () => {
      const id = await create();
      const response = await call(id, 'capture');
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'invalid_state_transition', reason: 'payment_not_authorized' });
      expect(await types(id)).toEqual(['PaymentRequested']);
    });

    it('rejects a refund with 409 invalid_state_transition', async () => {
      const id = await create();
      const response = await call(id, 'refunds', { amount: 100 });
      expect(response.status).toBe(409);
      expect(response.body.reason).toBe('payment_not_captured');
    });

    it('accepts a cancel', async () => {
      const id = await create();
      const response = await call(id, 'cancel', { reason: 'requested_by_customer' });
      expect(response.status).toBe(202);
      expect(await types(id)).toEqual(['PaymentRequested', 'PaymentCancelRequested']);
    });
  });

  describe('when the payment is authorized', () => {
    it('rejects a capture one minor unit above the authorized amount', async () => {
      const id = await create(5000);
      await appendFacts(api.store, id, [facts.authorized(5000)]);
      const response = await call(id, 'capture', { amount: 5001 });
      expect(response.status).toBe(422);
      expect(response.body.code).toBe('capture_exceeds_authorized');
      expect(await types(id)).toEqual(['PaymentRequested', 'PaymentAuthorized']);
    });

    it('accepts a capture of exactly the authorized amount, and replays it for the same key', async () => {
      const id = await create(5000);
      await appendFacts(api.store, id, [facts.authorized(5000)]);
      const idempotencyKey = randomUUID();
      const first = await call(id, 'capture', { amount: 5000 }, idempotencyKey);
      const again = await call(id, 'capture', { amount: 5000 }, idempotencyKey);
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await types(id)).toEqual(['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptureRequested']);
    });

    it('rejects the capture key reused with another amount', async () => {
      const id = await create(5000);
      await appendFacts(api.store, id, [facts.authorized(5000)]);
      const idempotencyKey = randomUUID();
      await call(id, 'capture', { amount: 4000 }, idempotencyKey);
      const reused = await call(id, 'capture', { amount: 3000 }, idempotencyKey);
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe('idempotency_key_reused');
    });

    it('rejects a second capture under another key', async () => {
      const id = await create(5000);
      await appendFacts(api.store, id, [facts.authorized(5000)]);
      await call(id, 'capture', { amount: 4000 });
      const second = await call(id, 'capture', { amount: 1000 });
      expect(second.status).toBe(409);
      expect(second.body.reason).toBe('capture_already_requested');
    });
  });

  describe('when the payment is captured', () => {
    it('accepts refunds up to the captured amount and rejects one minor unit more', async () => {
      const id = await create(5000);
      await appendFacts(api.store, id, [facts.authorized(5000), facts.captured(randomUUID(), 4000, 146)]);

      const first = await call(id, 'refunds', { amount: 1500 });
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ object: 'refund', payment_id: id, amount: 1500, status: 'pending' });
      const over = await call(id, 'refunds', { amount: 2501 });
      expect(over.status).toBe(422);
      expect(over.body.code).toBe('refund_exceeds_captured');
      const exact = await call(id, 'refunds', { amount: 2500 });
      expect(exact.status).toBe(202);
      expect(await types(id)).toEqual(['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured', 'RefundRequested', 'RefundRequested']);
    });

    it('rejects a cancel', async () => {
      const id = await create(5000);
      await appendFacts(api.store, id, [facts.authorized(5000), facts.captured(randomUUID(), 5000)]);
      const response = await call(id, 'cancel');
      expect(response.status).toBe(409);
      expect(response.body.reason).toBe('payment_already_captured');
    });
  });

  describe('when the payment failed', () => {
    it('rejects a capture and a cancel, and a new create with the same key replays the failed payment', async () => {
      const idempotencyKey = randomUUID();
      const request = { amount: 5000, currency: 'usd', customer_id: 'cus_1', payment_method: 'pm_card_chargeDeclined' };
      const created = await api.post('/v1/payments', request, { key, idempotencyKey });
      await appendFacts(api.store, created.body.id, [facts.failed()]);

      expect((await call(created.body.id, 'capture')).body.reason).toBe('payment_already_failed');
      expect((await call(created.body.id, 'cancel')).body.reason).toBe('payment_already_failed');
      const again = await api.post('/v1/payments', request, { key, idempotencyKey });
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });
  });

  describe("when another merchant's key is used", () => {
    it('answers 404 payment_not_found to capture, cancel and refund, and appends nothing', async () => {
      const id = await create(5000);
      await appendFacts(api.store, id, [facts.authorized(5000)]);
      const intruder = await api.newKey(`m_${randomUUID().slice(0, 8)}`);
      for (const action of ['capture', 'cancel', 'refunds']) {
        const response = await api.post(`/v1/payments/${id}/${action}`, {}, { key: intruder.key, idempotencyKey: randomUUID() });
        expect({ action, status: response.status, code: response.body.code }).toEqual({ action, status: 404, code: 'payment_not_found' });
      }
      expect(await types(id)).toEqual(['PaymentRequested', 'PaymentAuthorized']);
    });

    it('answers 404 for a payment id that does not exist', async () => {
      const response = await call(randomUUID(), 'capture');
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('payment_not_found');
    });
  });
});
