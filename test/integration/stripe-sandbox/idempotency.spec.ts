import Stripe from 'stripe';
import type { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { authorizeParams, migratedPool, startSandbox, type RunningSandbox } from './sandbox-fixture';

let pool: Pool;
let s: RunningSandbox;

beforeAll(async () => {
  pool = await migratedPool();
  s = await startSandbox(pool);
});
afterAll(async () => {
  await s.close();
  await pool.end();
});

const countFor = async (paymentId: string): Promise<number> =>
  (await s.admin(`/__sandbox/payment_intents?metadata[payment_id]=${paymentId}`)).count;

describe('Idempotency-Key', () => {
  it('replays the saved answer for the same key and parameters', async () => {
    const key = `authorize:${randomUUID()}`;
    const params = authorizeParams(1000);
    const first = await s.stripe.paymentIntents.create(params, { idempotencyKey: key });
    const again = await s.stripe.paymentIntents.create(params, { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    expect(again).toEqual(first);
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(again.lastResponse.idempotencyKey).toBe(key);
    expect(await countFor(params.metadata.payment_id)).toBe(1);
  });

  it('refuses the same key with different parameters (StripeIdempotencyError)', async () => {
    const key = `authorize:${randomUUID()}`;
    const params = authorizeParams(1000);
    await s.stripe.paymentIntents.create(params, { idempotencyKey: key });
    const error = await s.stripe.paymentIntents.create({ ...params, amount: 1001 }, { idempotencyKey: key }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error).toMatchObject({ statusCode: 400, type: 'StripeIdempotencyError' });
    expect(await countFor(params.metadata.payment_id)).toBe(1);
  });

  it('replays a decline (402) instead of confirming again', async () => {
    const key = `authorize:${randomUUID()}`;
    const params = authorizeParams(1000, 'pm_card_chargeDeclined');
    const decline = () =>
      s.stripe.paymentIntents.create(params, { idempotencyKey: key }).then(
        () => Promise.reject(new Error('not declined')),
        (e: Stripe.errors.StripeCardError) => e,
      );
    const first = await decline();
    const again = await decline();
    expect(again).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(again.headers?.['idempotent-replayed']).toBe('true');
    expect((again.payment_intent as Stripe.PaymentIntent).id).toBe((first.payment_intent as Stripe.PaymentIntent).id);
    const failures = await s.stripe.events.list({ type: 'payment_intent.payment_failed', limit: 100 });
    const forIntent = failures.data.filter((e) => (e.data.object as Stripe.PaymentIntent).id === (first.payment_intent as Stripe.PaymentIntent).id);
    expect(forIntent).toHaveLength(1);
  });

  it('does not save a validation error: the key can be used again with corrected parameters', async () => {
    const key = `authorize:${randomUUID()}`;
    const params = authorizeParams(1000);
    await expect(s.stripe.paymentIntents.create({ ...params, currency: 'dollars' }, { idempotencyKey: key })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
    });
    await expect(s.stripe.paymentIntents.create(params, { idempotencyKey: key })).resolves.toMatchObject({ status: 'requires_capture' });
  });

  it('scopes keys by API key', async () => {
    const key = `authorize:${randomUUID()}`;
    const params = authorizeParams(1000);
    const a = await s.stripe.paymentIntents.create(params, { idempotencyKey: key });
    const b = await s.client({}, 'sk_test_other_account').paymentIntents.create(params, { idempotencyKey: key });
    expect(b.id).not.toBe(a.id);
    expect(b.lastResponse.headers['idempotent-replayed']).toBeUndefined();
  });

  it('answers 409 idempotency_key_in_use while the first request is still executing, and saves nothing for it', async () => {
    const key = `capture:${randomUUID()}`;
    const intent = await s.stripe.paymentIntents.create(authorizeParams(1000));
    await s.admin('/__sandbox/faults', { method: 'POST', body: { seed: 1, latencyMs: [400, 400] } });
    try {
      const slow = s.stripe.paymentIntents.capture(intent.id, {}, { idempotencyKey: key });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const clash = await s.stripe.paymentIntents.capture(intent.id, {}, { idempotencyKey: key }).catch((e: Stripe.errors.StripeError) => e);
      expect(clash).toMatchObject({ statusCode: 409, code: 'idempotency_key_in_use', type: 'StripeAPIError' });
      await expect(slow).resolves.toMatchObject({ status: 'succeeded' });
    } finally {
      await s.admin('/__sandbox/faults', { method: 'POST', body: { faults: null } });
    }
    const replay = await s.stripe.paymentIntents.capture(intent.id, {}, { idempotencyKey: key });
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(replay.status).toBe('succeeded');
  });

  it('lets only one of two concurrent captures with different keys succeed', async () => {
    const intent = await s.stripe.paymentIntents.create(authorizeParams(1000));
    const results = await Promise.allSettled([
      s.stripe.paymentIntents.capture(intent.id, {}, { idempotencyKey: randomUUID() }),
      s.stripe.paymentIntents.capture(intent.id, {}, { idempotencyKey: randomUUID() }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const charge = (await s.stripe.paymentIntents.retrieve(intent.id)).latest_charge as string;
    expect((await s.stripe.balanceTransactions.list({ source: charge })).data).toHaveLength(1);
  });
});
