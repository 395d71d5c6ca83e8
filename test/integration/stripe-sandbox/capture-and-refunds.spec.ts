import Stripe from 'stripe';
import type { Pool } from 'pg';
import { stripeFee } from '../../../infra/stripe-sandbox';
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

async function captured(amount: number, amountToCapture?: number): Promise<Stripe.PaymentIntent> {
  const intent = await s.stripe.paymentIntents.create(authorizeParams(amount));
  return s.stripe.paymentIntents.capture(intent.id, {
    ...(amountToCapture === undefined ? {} : { amount_to_capture: amountToCapture }),
    expand: ['latest_charge.balance_transaction'],
  });
}

async function chargeTransactions(chargeId: string): Promise<Stripe.BalanceTransaction[]> {
  return (await s.stripe.balanceTransactions.list({ source: chargeId, limit: 100 })).data;
}

describe('fees', () => {
  it.each([
    [400, 42],
    [500, 45],
    [2000, 88],
    [1, 30],
    [10_000, 320],
  ])('charges %i minor units a fee of %i (2.9%% + 30, rounded)', async (amount, fee) => {
    expect(stripeFee(amount)).toBe(fee);
    const intent = await captured(amount);
    const txn = (intent.latest_charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction;
    expect(txn).toMatchObject({ amount, fee, net: amount - fee, currency: 'usd' });
    expect(txn.fee_details).toEqual([expect.objectContaining({ amount: fee, type: 'stripe_fee', currency: 'usd' })]);
  });
});

describe('when an authorization is captured', () => {
  it('captures all of it by default and reports the capture', async () => {
    const intent = await captured(2000);
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 2000, amount_capturable: 0 });
    const charge = intent.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ captured: true, amount_captured: 2000 });
    const txns = await chargeTransactions(charge.id);
    expect(txns).toHaveLength(1);
    const events = await s.stripe.events.list({ type: 'charge.captured', limit: 100 });
    expect(events.data.some((e) => (e.data.object as Stripe.Charge).id === charge.id)).toBe(true);
  });

  it('gives two balance transactions for a partial capture, summing to the captured amount', async () => {
    const intent = await captured(2000, 500);
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 500, amount_capturable: 0 });
    const charge = intent.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ amount: 2000, amount_captured: 500, amount_refunded: 0 });
    const txns = await chargeTransactions(charge.id);
    const main = txns.find((t) => t.reporting_category === 'charge');
    const reversal = txns.find((t) => t.reporting_category === 'partial_capture_reversal');
    expect(main).toMatchObject({ type: 'charge', amount: 2000, fee: 45, net: 1955 });
    expect(reversal).toMatchObject({ type: 'refund', amount: -1500, fee: 0, net: -1500 });
    expect(txns.reduce((sum, t) => sum + t.amount, 0)).toBe(500);
    expect(txns.reduce((sum, t) => sum + t.net, 0)).toBe(500 - 45);
  });

  it('rejects a capture one minor unit above the authorized amount', async () => {
    const intent = await s.stripe.paymentIntents.create(authorizeParams(1000));
    await expect(s.stripe.paymentIntents.capture(intent.id, { amount_to_capture: 1001 })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'amount_too_large',
      param: 'amount_to_capture',
    });
    await expect(s.stripe.paymentIntents.retrieve(intent.id)).resolves.toMatchObject({ status: 'requires_capture', amount_capturable: 1000 });
  });

  it('refuses a second capture', async () => {
    const intent = await captured(1000);
    await expect(s.stripe.paymentIntents.capture(intent.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
    await expect(s.stripe.paymentIntents.cancel(intent.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
  });
});

describe('when a captured payment is refunded', () => {
  it('takes several partial refunds until fully refunded, each with its balance transaction', async () => {
    const intent = await captured(1000);
    const chargeId = (intent.latest_charge as Stripe.Charge).id;
    const first = await s.stripe.refunds.create({ payment_intent: intent.id, amount: 300, reason: 'requested_by_customer', metadata: { refund_id: 'r1' } });
    expect(first).toMatchObject({ object: 'refund', amount: 300, status: 'succeeded', charge: chargeId, payment_intent: intent.id, reason: 'requested_by_customer' });
    expect(first.id).toMatch(/^re_/);
    const txn = await s.stripe.balanceTransactions.retrieve(first.balance_transaction as string);
    expect(txn).toMatchObject({ type: 'refund', reporting_category: 'refund', amount: -300, fee: 0, net: -300, source: first.id });

    await expect(s.stripe.refunds.create({ charge: chargeId, amount: 701 })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'amount_too_large',
    });
    const rest = await s.stripe.refunds.create({ charge: chargeId });
    expect(rest.amount).toBe(700);
    await expect(s.stripe.charges.retrieve(chargeId)).resolves.toMatchObject({ amount_refunded: 1000, refunded: true });
    await expect(s.stripe.refunds.create({ payment_intent: intent.id, amount: 1 })).rejects.toMatchObject({ code: 'charge_already_refunded' });
    await expect(s.stripe.refunds.retrieve(rest.id, { expand: ['balance_transaction'] })).resolves.toMatchObject({
      balance_transaction: expect.objectContaining({ amount: -700 }),
    });
  });

  it('reports refund.created and charge.refunded', async () => {
    const intent = await captured(800);
    const refund = await s.stripe.refunds.create({ payment_intent: intent.id, amount: 200 });
    const created = await s.stripe.events.list({ type: 'refund.created', limit: 100 });
    expect(created.data.some((e) => (e.data.object as Stripe.Refund).id === refund.id)).toBe(true);
    const refunded = await s.stripe.events.list({ type: 'charge.refunded', limit: 100 });
    const event = refunded.data.find((e) => (e.data.object as Stripe.Charge).id === refund.charge);
    expect(event?.data.object).toMatchObject({ amount_refunded: 200, refunded: false });
    expect(event?.data.previous_attributes).toEqual({ amount_refunded: 0 });
    await expect(s.stripe.events.retrieve(event!.id)).resolves.toMatchObject({ id: event!.id, type: 'charge.refunded' });
  });

  it('refunds at most the captured part of a partial capture', async () => {
    const intent = await captured(1000, 600);
    await expect(s.stripe.refunds.create({ payment_intent: intent.id, amount: 601 })).rejects.toMatchObject({ code: 'amount_too_large' });
    await expect(s.stripe.refunds.create({ payment_intent: intent.id })).resolves.toMatchObject({ amount: 600 });
  });

  it('refuses to refund an authorization that was never captured', async () => {
    const intent = await s.stripe.paymentIntents.create(authorizeParams(1000));
    await expect(s.stripe.refunds.create({ payment_intent: intent.id })).rejects.toMatchObject({ type: 'StripeInvalidRequestError' });
    await expect(s.stripe.refunds.retrieve('re_missing')).rejects.toMatchObject({ code: 'resource_missing', statusCode: 404 });
  });
});
