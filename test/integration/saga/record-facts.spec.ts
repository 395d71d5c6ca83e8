import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { EventStore } from '../../../ports/event-store';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { migrate } from '../../../infra/postgres/migrate';
import { paymentStreamId } from '../../../commands/ids';
import { loadPayment } from '../../../commands/payment-stream';
import { recordFacts } from '../../../processes/record-facts';
import { testPool } from '../../support/postgres';
import { paymentRequested, recordAuthorization, recordCapture, recordRefund } from '../../unit/domain/support/builders';

const JOB = { correlation_id: 'c', causation_id: 'authorize-test', actor: 'payment-saga', source: 'stripe' };

/**
 * A job reads the stream, calls Stripe, then records what Stripe said on the stream as it read it,
 * without reading it again. These are the cases where the stream moved on during the call.
 */
describe('recording facts on the stream as the job read it before calling Stripe', () => {
  let pool: Pool;
  let store: EventStore;
  beforeAll(async () => {
    pool = testPool(4);
    await migrate(pool);
    store = createPostgresEventStore(pool);
  });
  afterAll(() => pool.end());

  async function requested(): Promise<string> {
    const paymentId = randomUUID();
    const { type, data } = paymentRequested({ payment_id: paymentId, capture_method: 'automatic' });
    await store.append(paymentStreamId(paymentId), [{ type, data: data as unknown as Record<string, unknown>, metadata: JOB }], 'no_stream');
    return paymentId;
  }

  const types = async (paymentId: string) => (await store.read(paymentStreamId(paymentId))).map((event) => event.type);

  describe('when another job recorded the same facts in between', () => {
    it('appends nothing and reports nothing contradicted', async () => {
      const paymentId = await requested();
      const read = await loadPayment(store, paymentId);
      await recordFacts(store, paymentId, [recordAuthorization(), recordCapture()], JOB);

      const recorded = await recordFacts(store, paymentId, [recordAuthorization(), recordCapture()], JOB, read);

      expect(recorded.appended).toEqual([]);
      expect(recorded.rejected).toEqual([]);
      expect(recorded.state.status).toBe('captured');
      expect(await types(paymentId)).toEqual(['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured']);
    });
  });

  describe('when only the authorization was recorded in between', () => {
    it('decides again after the conflict and appends the capture alone', async () => {
      const paymentId = await requested();
      const read = await loadPayment(store, paymentId);
      await recordFacts(store, paymentId, [recordAuthorization()], JOB);

      const recorded = await recordFacts(store, paymentId, [recordAuthorization(), recordCapture()], JOB, read);

      expect(recorded.appended.map((event) => event.type)).toEqual(['PaymentCaptured']);
      expect(await types(paymentId)).toEqual(['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured']);
    });
  });

  describe('when the payment was captured in between', () => {
    it('records a refund that the earlier read alone would have refused', async () => {
      const paymentId = await requested();
      const read = await loadPayment(store, paymentId);
      await recordFacts(store, paymentId, [recordAuthorization(), recordCapture()], JOB);

      const recorded = await recordFacts(store, paymentId, [recordRefund({ refundId: 'ref_dashboard', amount: 1_000 })], JOB, read);

      expect(recorded.rejected).toEqual([]);
      expect(recorded.appended.map((event) => event.type)).toEqual(['PaymentRefunded']);
      expect(await types(paymentId)).toEqual(['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured', 'PaymentRefunded']);
    });
  });
});
