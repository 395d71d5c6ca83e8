import Stripe from 'stripe';
import type { Pool } from 'pg';
import { authorizeParams, migratedPool, startSandbox, type RunningSandbox } from './sandbox-fixture';
import { startReceiver, type Receiver } from './webhook-receiver';

const secret = 'whsec_sandbox_test_secret';
const verifier = new Stripe('sk_test_verifier');
let pool: Pool;

beforeAll(async () => {
  pool = await migratedPool();
});
afterAll(async () => {
  await pool.end();
});

function verified(receiver: Receiver): Stripe.Event[] {
  return receiver.deliveries.map((d) => verifier.webhooks.constructEvent(d.body, d.signature, secret));
}

describe('webhooks', () => {
  let receiver: Receiver;
  let s: RunningSandbox;
  afterEach(async () => {
    await s.close();
    await receiver.close();
  });

  describe('when the endpoint answers 2xx', () => {
    it('delivers every event once, signed so that constructEvent verifies it', async () => {
      receiver = await startReceiver();
      s = await startSandbox(pool, { webhook: { url: receiver.url, secret, pollMs: 0 } });
      const intent = await s.stripe.paymentIntents.create(authorizeParams(1000));
      await s.stripe.paymentIntents.capture(intent.id);
      await s.sandbox.deliverPendingWebhooks();
      const events = verified(receiver);
      expect(events.map((e) => e.type)).toEqual([
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.amount_capturable_updated',
        'charge.captured',
        'payment_intent.succeeded',
      ]);
      expect(events.every((e) => e.id.startsWith('evt_') && e.object === 'event')).toBe(true);
      expect((events[4]!.data.object as Stripe.PaymentIntent).id).toBe(intent.id);
      await s.sandbox.deliverPendingWebhooks();
      expect(receiver.deliveries).toHaveLength(5);
      const outbox = await s.admin('/__sandbox/webhooks');
      expect(outbox.data.filter((r: { event_id: string }) => events.some((e) => e.id === r.event_id)).every((r: { delivered_at: unknown }) => r.delivered_at !== null)).toBe(true);
    });

    it('refuses a tampered body or a wrong secret', async () => {
      receiver = await startReceiver();
      s = await startSandbox(pool, { webhook: { url: receiver.url, secret, pollMs: 0 } });
      await s.stripe.paymentIntents.create(authorizeParams(1000, 'pm_card_chargeDeclined')).catch(() => undefined);
      await s.sandbox.deliverPendingWebhooks();
      const [first] = receiver.deliveries;
      expect(() => verifier.webhooks.constructEvent(first!.body.replace('1000', '9999'), first!.signature, secret)).toThrow(
        Stripe.errors.StripeSignatureVerificationError,
      );
      expect(() => verifier.webhooks.constructEvent(first!.body, first!.signature, 'whsec_other')).toThrow();
      expect(verified(receiver).map((e) => e.type)).toContain('payment_intent.payment_failed');
    });

    it('delivers from the background loop without being asked', async () => {
      receiver = await startReceiver();
      s = await startSandbox(pool, { webhook: { url: receiver.url, secret, pollMs: 20 } });
      await s.stripe.paymentIntents.create(authorizeParams(1000));
      const deadline = Date.now() + 5000;
      while (receiver.deliveries.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(verified(receiver).map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.amount_capturable_updated']);
    });
  });

  describe('when the endpoint fails', () => {
    it('retries with backoff, signing each redelivery afresh, until it gets a 2xx', async () => {
      // The first two deliveries fail; every later one succeeds.
      receiver = await startReceiver((n) => (n <= 2 ? 500 : 200));
      let now = 1_700_000_000_000;
      s = await startSandbox(pool, { clock: () => now, webhook: { url: receiver.url, secret, pollMs: 0, retryBaseMs: 1000 } });
      const { confirm: _c, payment_method: _p, ...params } = authorizeParams(1000);
      await s.stripe.paymentIntents.create(params);
      await s.sandbox.deliverPendingWebhooks();
      expect(receiver.deliveries).toHaveLength(1);
      now += 500;
      await s.sandbox.deliverPendingWebhooks();
      expect(receiver.deliveries).toHaveLength(1);
      now += 600;
      await s.sandbox.deliverPendingWebhooks();
      expect(receiver.deliveries).toHaveLength(2);
      now += 1999;
      await s.sandbox.deliverPendingWebhooks();
      expect(receiver.deliveries).toHaveLength(2);
      now += 1;
      await s.sandbox.deliverPendingWebhooks();
      expect(receiver.deliveries).toHaveLength(3);
      const [a, b, c] = receiver.deliveries.map((d) => d.signature);
      expect(new Set([a, b, c]).size).toBe(3);
      const ids = receiver.deliveries.map((d) => verifier.webhooks.constructEvent(d.body, d.signature, secret, 10 ** 10).id);
      expect(new Set(ids).size).toBe(1);
      const [row] = (await s.admin('/__sandbox/webhooks')).data.filter((r: { event_id: string }) => r.event_id === ids[0]);
      expect(row).toMatchObject({ attempts: 3, last_status: 200 });
    });

    it('retries after a connection error', async () => {
      receiver = await startReceiver();
      const url = receiver.url;
      await receiver.close();
      let now = 1_700_000_000_000;
      s = await startSandbox(pool, { clock: () => now, webhook: { url, secret, pollMs: 0, retryBaseMs: 10 } });
      const { confirm: _c, payment_method: _p, ...params } = authorizeParams(1000);
      const intent = await s.stripe.paymentIntents.create(params);
      await s.sandbox.deliverPendingWebhooks();
      const [row] = (await s.admin('/__sandbox/webhooks')).data;
      expect(row).toMatchObject({ type: 'payment_intent.created', attempts: 1, delivered_at: null, last_status: null, next_attempt_at: now + 10 });
      expect(row.last_error).toBeTruthy();
      now += 10;
      await s.sandbox.deliverPendingWebhooks();
      const [again] = (await s.admin('/__sandbox/webhooks')).data;
      expect(again).toMatchObject({ attempts: 2, delivered_at: null, next_attempt_at: now + 20 });
      receiver = await startReceiver();
      expect(intent.status).toBe('requires_payment_method');
    });
  });
});
