import type { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { authorizeParams, migratedPool, startSandbox } from './sandbox-fixture';

let pool: Pool;

beforeAll(async () => {
  pool = await migratedPool();
});
afterAll(async () => {
  await pool.end();
});

describe('when the sandbox restarts on the same database', () => {
  it('keeps intents, charges, refunds, balance transactions, events and idempotency records', async () => {
    const key = `authorize:${randomUUID()}`;
    const params = authorizeParams(2000);
    const before = await startSandbox(pool);
    const intent = await before.stripe.paymentIntents.create(params, { idempotencyKey: key });
    await before.stripe.paymentIntents.capture(intent.id);
    const refund = await before.stripe.refunds.create({ payment_intent: intent.id, amount: 500 });
    await before.close();

    const after = await startSandbox(pool);
    try {
      const replay = await after.stripe.paymentIntents.create(params, { idempotencyKey: key });
      expect(replay.id).toBe(intent.id);
      expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
      const stored = await after.stripe.paymentIntents.retrieve(intent.id, { expand: ['latest_charge.balance_transaction'] });
      expect(stored).toMatchObject({ status: 'succeeded', amount_received: 2000 });
      expect(stored.latest_charge).toMatchObject({ amount_refunded: 500, balance_transaction: expect.objectContaining({ fee: 88 }) });
      await expect(after.stripe.refunds.retrieve(refund.id)).resolves.toMatchObject({ amount: 500 });
      const txns = await after.stripe.balanceTransactions.list({ source: refund.id });
      expect(txns.data).toHaveLength(1);
      const events = await after.stripe.events.list({ type: 'refund.created', limit: 100 });
      expect(events.data.some((e) => (e.data.object as { id: string }).id === refund.id)).toBe(true);
      // The refund can continue where it stopped: 1500 remain.
      await expect(after.stripe.refunds.create({ payment_intent: intent.id, amount: 1501 })).rejects.toMatchObject({ code: 'amount_too_large' });
    } finally {
      await after.close();
    }
  });
});
