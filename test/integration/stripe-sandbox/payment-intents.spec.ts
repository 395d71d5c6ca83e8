import Stripe from 'stripe';
import type { Pool } from 'pg';
import { authorizeParams, isolatedClock, migratedPool, startSandbox, type RunningSandbox } from './sandbox-fixture';

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

describe('PaymentIntents', () => {
  describe('when created and confirmed with automatic capture', () => {
    it('succeeds with a captured charge and its balance transaction', async () => {
      const intent = await s.stripe.paymentIntents.create(
        { ...authorizeParams(2000, 'pm_card_visa', 'automatic') },
        { idempotencyKey: `auto-${Date.now()}` },
      );
      expect(intent).toMatchObject({ object: 'payment_intent', status: 'succeeded', amount: 2000, amount_received: 2000, amount_capturable: 0 });
      expect(intent.id).toMatch(/^pi_[0-9A-Za-z]{24}$/);
      const charge = await s.stripe.charges.retrieve(intent.latest_charge as string, { expand: ['balance_transaction'] });
      expect(charge).toMatchObject({ captured: true, amount_captured: 2000, amount_refunded: 0, refunded: false, payment_intent: intent.id });
      const txn = charge.balance_transaction as Stripe.BalanceTransaction;
      expect(txn).toMatchObject({ amount: 2000, fee: 88, net: 1912, type: 'charge', reporting_category: 'charge', source: charge.id });
      expect(txn.id).toMatch(/^txn_/);
    });
  });

  describe('when created and confirmed with manual capture', () => {
    it('holds the amount as capturable and has no balance transaction yet', async () => {
      const intent = await s.stripe.paymentIntents.create(authorizeParams(1500), { expand: ['latest_charge'] } as never);
      expect(intent).toMatchObject({ status: 'requires_capture', amount_capturable: 1500, amount_received: 0, capture_method: 'manual' });
      const fetched = await s.stripe.paymentIntents.retrieve(intent.id, { expand: ['latest_charge.balance_transaction'] });
      const charge = fetched.latest_charge as Stripe.Charge;
      expect(charge).toMatchObject({ object: 'charge', captured: false, amount: 1500, balance_transaction: null });
    });

    it('expands latest_charge on create', async () => {
      const intent = await s.stripe.paymentIntents.create({ ...authorizeParams(700), expand: ['latest_charge'] });
      expect((intent.latest_charge as Stripe.Charge).amount).toBe(700);
    });

    it('cancels from requires_capture and refuses a later capture', async () => {
      const intent = await s.stripe.paymentIntents.create(authorizeParams(900));
      const canceled = await s.stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'requested_by_customer' });
      expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer', amount_capturable: 0 });
      await expect(s.stripe.paymentIntents.capture(intent.id)).rejects.toMatchObject({
        type: 'StripeInvalidRequestError',
        code: 'payment_intent_unexpected_state',
        statusCode: 400,
      });
      await expect(s.stripe.paymentIntents.cancel(intent.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
    });
  });

  describe('when created without confirming', () => {
    it('confirms later, with the payment method given at confirm', async () => {
      const { confirm: _confirm, payment_method: _pm, ...params } = authorizeParams(1200);
      const created = await s.stripe.paymentIntents.create(params);
      expect(created.status).toBe('requires_payment_method');
      const confirmed = await s.stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_mastercard' });
      expect(confirmed).toMatchObject({ status: 'requires_capture', payment_method: 'pm_card_mastercard', amount_capturable: 1200 });
    });

    it('can be canceled from requires_payment_method', async () => {
      const { confirm: _confirm, payment_method: _pm, ...params } = authorizeParams(1200);
      const created = await s.stripe.paymentIntents.create(params);
      await expect(s.stripe.paymentIntents.cancel(created.id)).resolves.toMatchObject({ status: 'canceled', cancellation_reason: null });
    });
  });

  describe('when the request is not acceptable', () => {
    it('requires allow_redirects=never (or a return_url) for a server-side confirm', async () => {
      const { automatic_payment_methods: _apm, ...params } = authorizeParams(1000);
      await expect(s.stripe.paymentIntents.create(params)).rejects.toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400 });
    });

    it('rejects unknown parameters and missing amounts', async () => {
      await expect(s.stripe.paymentIntents.create({ currency: 'usd' } as never)).rejects.toMatchObject({ code: 'parameter_missing', param: 'amount' });
      await expect(s.stripe.paymentIntents.create({ amount: 100, currency: 'usd', colour: 'red' } as never)).rejects.toMatchObject({
        code: 'parameter_unknown',
      });
    });

    it('answers 404 resource_missing for an unknown intent', async () => {
      await expect(s.stripe.paymentIntents.retrieve('pi_doesnotexist')).rejects.toMatchObject({
        type: 'StripeInvalidRequestError',
        code: 'resource_missing',
        statusCode: 404,
      });
    });

    it('answers 401 without a valid secret key', async () => {
      await expect(s.client({}, 'pk_test_nope').paymentIntents.list()).rejects.toMatchObject({ type: 'StripeAuthenticationError', statusCode: 401 });
    });
  });

  describe('when the card needs 3-D Secure', () => {
    it.each(['pm_card_threeDSecure2Required', 'pm_card_authenticationRequired'])('%s leaves the intent in requires_action', async (pm) => {
      const intent = await s.stripe.paymentIntents.create(authorizeParams(1000, pm));
      expect(intent).toMatchObject({ status: 'requires_action', amount_capturable: 0, latest_charge: null });
      expect(intent.next_action?.type).toBe('use_stripe_sdk');
      await expect(s.stripe.paymentIntents.cancel(intent.id)).resolves.toMatchObject({ status: 'canceled' });
    });
  });

  describe('when listing', () => {
    it('pages newest first with limit and starting_after', async () => {
      const { clock, second } = isolatedClock();
      const frozen = await startSandbox(pool, { clock });
      try {
        const ids: string[] = [];
        for (let i = 0; i < 3; i += 1) ids.push((await frozen.stripe.paymentIntents.create(authorizeParams(100 + i))).id);
        const created = { gte: second, lte: second };
        const first = await frozen.stripe.paymentIntents.list({ limit: 2, created });
        expect(first.has_more).toBe(true);
        expect(first.data.map((p) => p.id)).toEqual([ids[2], ids[1]]);
        const next = await frozen.stripe.paymentIntents.list({ limit: 2, starting_after: ids[1], created });
        expect(next.data.map((p) => p.id)).toEqual([ids[0]]);
        expect(next.has_more).toBe(false);
        expect(next.url).toBe('/v1/payment_intents');
      } finally {
        await frozen.close();
      }
    });
  });

  describe('when asked through the inspection endpoint', () => {
    it('finds every intent with a metadata value', async () => {
      const params = authorizeParams(300);
      await s.stripe.paymentIntents.create(params);
      await s.stripe.paymentIntents.create(params);
      const found = await s.admin(`/__sandbox/payment_intents?metadata[payment_id]=${params.metadata.payment_id}`);
      expect(found.count).toBe(2);
      expect(found.data[0].metadata.payment_id).toBe(params.metadata.payment_id);
    });
  });

  describe('when searched by metadata through the API', () => {
    it("finds the intents whose metadata matches, newest first, and nothing for another value", async () => {
      const params = authorizeParams(300);
      const first = await s.stripe.paymentIntents.create(params);
      const second = await s.stripe.paymentIntents.create(params);
      const found = await s.stripe.paymentIntents.search({ query: `metadata['payment_id']:'${params.metadata.payment_id}'` });
      expect(found.data.map((intent) => intent.id)).toEqual([second.id, first.id]);
      const none = await s.stripe.paymentIntents.search({ query: "metadata['payment_id']:'no-such-payment'" });
      expect(none.data).toEqual([]);
    });

    it('refuses a query it does not understand', async () => {
      await expect(s.stripe.paymentIntents.search({ query: 'amount>100' })).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    });
  });

  describe('when Stripe expires an uncaptured authorization', () => {
    it('cancels it with cancellation_reason automatic', async () => {
      const intent = await s.stripe.paymentIntents.create(authorizeParams(300));
      await s.admin(`/__sandbox/payment_intents/${intent.id}/expire`, { method: 'POST' });
      await expect(s.stripe.paymentIntents.retrieve(intent.id)).resolves.toMatchObject({ status: 'canceled', cancellation_reason: 'automatic' });
    });
  });
});
