import { randomUUID } from 'node:crypto';
import { paymentStreamId } from '../../../commands/ids';
import type { Payment } from '../../../domain/payment.state';
import { sagaBackends, startSaga, type SagaHarness } from '../../support/saga';

describe.each(sagaBackends())('the Stripe saga on BullMQ with the %s backend', (backend) => {
  let saga: SagaHarness;
  beforeAll(async () => {
    saga = await startSaga({ backend });
  });
  afterAll(() => saga.close());

  const intentsFor = async (paymentId: string) =>
    (await saga.admin<{ count: number; data: any[] }>(`/__sandbox/payment_intents?metadata[payment_id]=${paymentId}`)).data;

  describe('when pm_card_visa pays with automatic capture', () => {
    it("ends captured with the sandbox's fee and net", async () => {
      const id = await saga.createPayment({ amount: 2000 });
      const payment = (await saga.waitFor(id, (state) => state.status === 'captured')) as Payment;
      expect(payment).toMatchObject({ amountAuthorized: 2000, amountCaptured: 2000, fee: 88, net: 1912 });
      const intents = await intentsFor(id);
      expect(intents).toHaveLength(1);
      expect(intents[0]).toMatchObject({ status: 'succeeded', amount_received: 2000 });
    });
  });

  describe('when the capture is manual', () => {
    it('ends authorized, then a partial capture ends captured with the remainder released', async () => {
      const id = await saga.createPayment({ amount: 5000, capture_method: 'manual' });
      await saga.waitFor(id, (state) => state.status === 'authorized');

      const capture = await saga.post(`/v1/payments/${id}/capture`, { amount: 3000 });
      expect(capture.status).toBe(202);
      const payment = (await saga.waitFor(id, (state) => state.status === 'captured')) as Payment;
      expect(payment).toMatchObject({ amountAuthorized: 5000, amountCaptured: 3000, fee: 117, net: 2883 });
      const [intent] = await intentsFor(id);
      expect(intent).toMatchObject({ status: 'succeeded', amount_received: 3000, amount_capturable: 0 });
    });

    it('cancels an authorized payment', async () => {
      const id = await saga.createPayment({ amount: 1500, capture_method: 'manual' });
      await saga.waitFor(id, (state) => state.status === 'authorized');
      expect((await saga.post(`/v1/payments/${id}/cancel`, { reason: 'requested_by_customer' })).status).toBe(202);
      await saga.waitFor(id, (state) => state.status === 'canceled');
      const [intent] = await intentsFor(id);
      expect(intent.status).toBe('canceled');
    });

    it('cancels a payment asked to cancel before its authorization was known', async () => {
      const id = await saga.createPayment({ amount: 1500, capture_method: 'manual' });
      expect((await saga.post(`/v1/payments/${id}/cancel`, {})).status).toBe(202);
      await saga.waitFor(id, (state) => state.status === 'canceled');
      const intents = await intentsFor(id);
      expect(intents.map((intent) => intent.status)).toEqual(['canceled']);
    });
  });

  describe('when a captured payment is refunded in parts', () => {
    it('is partially_refunded, then refunded, and refuses a refund over what remains', async () => {
      const id = await saga.createPayment({ amount: 4000 });
      await saga.waitFor(id, (state) => state.status === 'captured');

      expect((await saga.post(`/v1/payments/${id}/refunds`, { amount: 1000 })).status).toBe(202);
      await saga.waitFor(id, (state) => state.status === 'partially_refunded');
      const over = await saga.post(`/v1/payments/${id}/refunds`, { amount: 3001 });
      expect(over.status).toBe(422);
      expect(over.body.code).toBe('refund_exceeds_captured');
      expect((await saga.post(`/v1/payments/${id}/refunds`, { amount: 3000 })).status).toBe(202);
      const payment = (await saga.waitFor(id, (state) => state.status === 'refunded')) as Payment;
      expect(payment.amountRefunded).toBe(4000);
      const refunds = await saga.processes.gateway.stripe.refunds.list({ payment_intent: payment.processorPaymentId!, limit: 10 });
      expect(refunds.data.map((refund) => refund.amount).sort()).toEqual([1000, 3000]);
    });
  });

  describe.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
  ])('when %s is declined', (paymentMethod, code, declineCode) => {
    it("ends failed with Stripe's code and decline_code, and the same key again creates no new PaymentIntent", async () => {
      const idempotencyKey = randomUUID();
      const body = { amount: 2500, payment_method: paymentMethod };
      const id = await saga.createPayment(body, idempotencyKey);
      const payment = (await saga.waitFor(id, (state) => state.status === 'failed')) as Payment;
      expect(payment.failure).toMatchObject({ stage: 'authorization', code, declineCode });

      const again = await saga.post(
        '/v1/payments',
        { amount: 2500, currency: 'usd', customer_id: 'cus_saga', payment_method: paymentMethod },
        idempotencyKey,
      );
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toMatchObject({ id, status: 'failed', failure_code: code });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await intentsFor(id)).toHaveLength(1);
      expect((await saga.store.read(paymentStreamId(id))).map((event) => event.type)).toEqual(['PaymentRequested', 'PaymentFailed']);
    });
  });
});
