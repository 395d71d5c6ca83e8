import Stripe from 'stripe';
import type { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import type { FaultConfig } from '../../../infra/stripe-sandbox';
import { authorizeParams, migratedPool, startSandbox, type RunningSandbox } from './sandbox-fixture';
import { startReceiver, type Receiver } from './webhook-receiver';

let pool: Pool;

beforeAll(async () => {
  pool = await migratedPool();
});
afterAll(async () => {
  await pool.end();
});

async function outcomes(s: RunningSandbox, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i += 1) {
    try {
      await s.stripe.paymentIntents.list({ limit: 1 });
      out.push('ok');
    } catch (error) {
      const e = error as Stripe.errors.StripeError;
      out.push(e.statusCode === 429 ? `429 retry=${e.headers?.['stripe-should-retry']}` : String(e.statusCode));
    }
  }
  return out;
}

const count = async (s: RunningSandbox, paymentId: string): Promise<number> =>
  (await s.admin(`/__sandbox/payment_intents?metadata[payment_id]=${paymentId}`)).count;

describe('API faults', () => {
  let s: RunningSandbox;
  afterEach(async () => {
    await s.close();
  });

  it('gives the same faults to the same sequence of requests for one seed', async () => {
    const faults: FaultConfig = { seed: 42, error5xxRate: 0.3, rateLimitRate: 0.3 };
    s = await startSandbox(pool, { faults });
    const first = await outcomes(s, 30);
    expect(first).toContain('ok');
    expect(first).toContain('500');
    expect(first.some((o) => o.startsWith('429'))).toBe(true);

    await s.admin('/__sandbox/faults', { method: 'POST', body: faults });
    expect(await outcomes(s, 30)).toEqual(first);
    const stats = (await s.admin('/__sandbox/stats')).faults;
    expect(stats.error5xx).toBe(2 * first.filter((o) => o === '500').length);
    expect(stats.rateLimit).toBe(2 * first.filter((o) => o.startsWith('429')).length);

    const other = await startSandbox(pool, { faults });
    try {
      expect(await outcomes(other, 30)).toEqual(first);
      await other.admin('/__sandbox/faults', { method: 'POST', body: { ...faults, seed: 43 } });
      expect(await outcomes(other, 30)).not.toEqual(first);
    } finally {
      await other.close();
    }
  });

  it('answers a 5xx before the operation, so nothing changes and a retry with the same key runs it', async () => {
    s = await startSandbox(pool, { faults: { seed: 1, error5xxRate: 1 } });
    const params = authorizeParams(1000);
    const key = `authorize:${randomUUID()}`;
    await expect(s.stripe.paymentIntents.create(params, { idempotencyKey: key })).rejects.toMatchObject({ type: 'StripeAPIError', statusCode: 500 });
    expect(await count(s, params.metadata.payment_id)).toBe(0);
    await s.admin('/__sandbox/faults', { method: 'POST', body: { faults: null } });
    const created = await s.stripe.paymentIntents.create(params, { idempotencyKey: key });
    expect(created.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(await count(s, params.metadata.payment_id)).toBe(1);
  });

  it('answers 429 with Stripe-Should-Retry', async () => {
    s = await startSandbox(pool, { faults: { seed: 7, rateLimitRate: 1 } });
    const error = await s.stripe.paymentIntents.list().catch((e: Stripe.errors.StripeError) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(['true', 'false']).toContain((error as Stripe.errors.StripeError).headers?.['stripe-should-retry']);
  });

  it('loses the response of a committed operation; a retry with the same key replays it', async () => {
    s = await startSandbox(pool, { faults: { seed: 3, lostResponseRate: 1 } });
    const params = authorizeParams(1000);
    const key = `authorize:${randomUUID()}`;
    await expect(s.stripe.paymentIntents.create(params, { idempotencyKey: key })).rejects.toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const found = await s.admin(`/__sandbox/payment_intents?metadata[payment_id]=${params.metadata.payment_id}`);
    expect(found.count).toBe(1);
    expect(found.data[0].status).toBe('requires_capture');
    expect((await s.admin('/__sandbox/stats')).faults.lostResponse).toBeGreaterThanOrEqual(1);
    await s.admin('/__sandbox/faults', { method: 'POST', body: { faults: null } });
    const replay = await s.stripe.paymentIntents.create(params, { idempotencyKey: key });
    expect(replay.id).toBe(found.data[0].id);
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
  });

  it('holds a request past the client timeout and drops it without running the operation', async () => {
    s = await startSandbox(pool, { faults: { seed: 5, timeoutRate: 1, timeoutHoldMs: 1000 } });
    const params = authorizeParams(1000);
    const started = Date.now();
    await expect(s.client({ timeout: 200 }).paymentIntents.create(params)).rejects.toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(Date.now() - started).toBeLessThan(900);
    expect(await count(s, params.metadata.payment_id)).toBe(0);
    expect((await s.admin('/__sandbox/faults')).faults).toMatchObject({ seed: 5, timeoutRate: 1 });
  });

  it('adds latency drawn from the configured range', async () => {
    s = await startSandbox(pool, { faults: { seed: 9, latencyMs: [150, 200] } });
    const started = Date.now();
    await s.stripe.paymentIntents.list({ limit: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect((await s.admin('/__sandbox/stats')).faults.latency).toBe(1);
  });

  it('refuses a fault configuration it does not understand', async () => {
    s = await startSandbox(pool);
    const response = await fetch(`http://127.0.0.1:${s.port}/__sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seed: 1, error5xxRate: 2 }),
    });
    expect(response.status).toBe(400);
  });
});

describe('webhook faults', () => {
  const secret = 'whsec_faults';
  const verifier = new Stripe('sk_test_verifier');
  let receiver: Receiver;
  let s: RunningSandbox;
  let now: number;
  const eventIds = () => receiver.deliveries.map((d) => verifier.webhooks.constructEvent(d.body, d.signature, secret, 10 ** 10).id);

  async function run(faults: FaultConfig): Promise<void> {
    receiver = await startReceiver();
    now = 1_700_000_000_000;
    s = await startSandbox(pool, { faults, clock: () => now, webhook: { url: receiver.url, secret, pollMs: 0, retryBaseMs: 100 } });
  }
  afterEach(async () => {
    await s.close();
    await receiver.close();
  });

  it('fails the first attempt, then delivers on the retry', async () => {
    await run({ seed: 11, webhookFailFirstRate: 1 });
    await s.stripe.paymentIntents.create(authorizeParams(1000));
    await s.sandbox.deliverPendingWebhooks();
    expect(receiver.deliveries).toHaveLength(0);
    now += 100;
    await s.sandbox.deliverPendingWebhooks();
    expect(receiver.deliveries).toHaveLength(3);
    expect((await s.admin('/__sandbox/stats')).faults.webhookFailFirst).toBe(3);
  });

  it('duplicates deliveries of one event', async () => {
    await run({ seed: 12, webhookDuplicateRate: 1 });
    await s.stripe.paymentIntents.create(authorizeParams(1000));
    await s.sandbox.deliverPendingWebhooks();
    const ids = eventIds();
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(3);
  });

  it('delays deliveries', async () => {
    await run({ seed: 13, webhookDelayMs: 5000 });
    await s.stripe.paymentIntents.create(authorizeParams(1000));
    await s.sandbox.deliverPendingWebhooks();
    expect(receiver.deliveries).toHaveLength(0);
    now += 5000;
    await s.sandbox.deliverPendingWebhooks();
    expect(receiver.deliveries).toHaveLength(3);
  });

  it('reorders a batch, the same way for the same seed', async () => {
    const orders: string[][] = [];
    for (let round = 0; round < 2; round += 1) {
      await run({ seed: 14, webhookReorder: true });
      const intent = await s.stripe.paymentIntents.create(authorizeParams(1000));
      await s.stripe.paymentIntents.capture(intent.id);
      await s.stripe.refunds.create({ payment_intent: intent.id, amount: 100 });
      await s.sandbox.deliverPendingWebhooks();
      orders.push(receiver.deliveries.map((d) => (JSON.parse(d.body) as { type: string }).type));
      if (round === 0) {
        await s.close();
        await receiver.close();
      }
    }
    const natural = [
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
      'refund.created',
      'charge.refunded',
    ];
    expect([...orders[0]!].sort()).toEqual([...natural].sort());
    expect(orders[0]).not.toEqual(natural);
    expect(orders[1]).toEqual(orders[0]);
  });
});
