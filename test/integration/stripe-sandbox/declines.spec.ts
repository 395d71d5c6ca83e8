import Stripe from 'stripe';
import type { Pool } from 'pg';
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

async function declineOf(paymentMethod: string): Promise<Stripe.errors.StripeCardError> {
  try {
    await s.stripe.paymentIntents.create(authorizeParams(1000, paymentMethod));
  } catch (error) {
    return error as Stripe.errors.StripeCardError;
  }
  throw new Error(`${paymentMethod} was not declined`);
}

describe('when the card is declined', () => {
  it.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedLostCard', 'card_declined', 'lost_card'],
    ['pm_card_chargeDeclinedStolenCard', 'card_declined', 'stolen_card'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', 'processing_error'],
  ])('%s answers 402 card_error %s / %s', async (paymentMethod, code, declineCode) => {
    const error = await declineOf(paymentMethod);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ statusCode: 402, code, decline_code: declineCode });
    expect(error.raw).toMatchObject({ type: 'card_error', code, decline_code: declineCode });
  });

  it('leaves the intent in requires_payment_method with last_payment_error', async () => {
    const error = await declineOf('pm_card_chargeDeclinedInsufficientFunds');
    const intent = error.payment_intent as Stripe.PaymentIntent;
    expect(intent).toMatchObject({ object: 'payment_intent', status: 'requires_payment_method', payment_method: null });
    expect(intent.last_payment_error).toMatchObject({ type: 'card_error', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' });
    const stored = await s.stripe.paymentIntents.retrieve(intent.id);
    expect(stored.status).toBe('requires_payment_method');
    const charge = await s.stripe.charges.retrieve(stored.latest_charge as string);
    expect(charge).toMatchObject({ status: 'failed', captured: false, failure_code: 'card_declined', balance_transaction: null });
  });

  it('records payment_intent.payment_failed', async () => {
    const error = await declineOf('pm_card_chargeDeclined');
    const intentId = (error.payment_intent as Stripe.PaymentIntent).id;
    const events = await s.stripe.events.list({ type: 'payment_intent.payment_failed', limit: 100 });
    const event = events.data.find((e) => (e.data.object as Stripe.PaymentIntent).id === intentId);
    expect(event?.data.object).toMatchObject({ status: 'requires_payment_method' });
    expect(event?.data.previous_attributes).toMatchObject({ status: 'requires_confirmation' });
  });

  it('can be retried on the same intent with another card', async () => {
    const error = await declineOf('pm_card_chargeDeclined');
    const intentId = (error.payment_intent as Stripe.PaymentIntent).id;
    const confirmed = await s.stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });
    expect(confirmed).toMatchObject({ status: 'requires_capture', last_payment_error: null, amount_capturable: 1000 });
  });

  it('rejects an unknown payment method with 404', async () => {
    await expect(s.stripe.paymentIntents.create(authorizeParams(1000, 'pm_card_nonsense'))).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'resource_missing',
      param: 'payment_method',
    });
  });
});
