import { captureCharge } from './charges';
import type { OpContext } from './context';
import { invalidRequest, unexpectedState, type ApiResult } from './errors';
import { emitEvent, previousAttributes } from './events';
import type { Charge, PaymentIntent } from './objects';
import { optionalEnum, optionalInteger, rejectUnknown, type Params } from './params';
import { intentResult, loadIntent } from './payment-intents';
import { getObject, saveObject, type Db } from './store';

/**
 * Captures all or part of an authorization. The intent row is locked first, then its charge: every
 * path that touches both takes them in that order.
 */
export async function capturePaymentIntent(db: Db, ctx: OpContext, id: string, params: Params): Promise<ApiResult> {
  rejectUnknown(params, ['amount_to_capture', 'expand', 'metadata']);
  const intent = await loadIntent(db, id, true);
  if (intent.status !== 'requires_capture' || !intent.latest_charge) {
    throw unexpectedState(
      `This PaymentIntent could not be captured because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
    );
  }
  const amount = optionalInteger(params, 'amount_to_capture', 1) ?? intent.amount_capturable;
  if (amount > intent.amount_capturable) {
    throw invalidRequest(
      `The amount_to_capture (${amount}) is greater than the amount_capturable (${intent.amount_capturable}) on this PaymentIntent.`,
      { code: 'amount_too_large', param: 'amount_to_capture' },
    );
  }
  const charge = await getObject<Charge>(db, intent.latest_charge, { forUpdate: true });
  if (!charge) throw new Error(`stripe-sandbox: intent ${intent.id} names a missing charge ${intent.latest_charge}`);
  await captureCharge(db, ctx, charge, amount, true);
  const next: PaymentIntent = { ...intent, status: 'succeeded', amount_capturable: 0, amount_received: amount };
  await saveObject(db, next);
  await emitEvent(db, ctx, 'payment_intent.succeeded', next, previousAttributes(intent, next));
  return intentResult(db, next, params);
}

const CANCELABLE: readonly PaymentIntent['status'][] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
];
export const CANCELLATION_REASONS = ['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer', 'automatic', 'expired'] as const;

/** Canceling releases an authorization: no money moved, so no balance transaction is made. */
export async function cancelPaymentIntent(db: Db, ctx: OpContext, id: string, params: Params): Promise<ApiResult> {
  rejectUnknown(params, ['cancellation_reason', 'expand']);
  const reason = optionalEnum(params, 'cancellation_reason', CANCELLATION_REASONS.slice(0, 4));
  return cancel(db, ctx, id, reason ?? null, params);
}

export async function cancel(db: Db, ctx: OpContext, id: string, reason: string | null, params: Params): Promise<ApiResult> {
  const intent = await loadIntent(db, id, true);
  if (!CANCELABLE.includes(intent.status)) {
    throw unexpectedState(
      `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
    );
  }
  const next: PaymentIntent = {
    ...intent,
    status: 'canceled',
    amount_capturable: 0,
    canceled_at: ctx.now,
    cancellation_reason: reason,
    next_action: null,
  };
  await saveObject(db, next);
  await emitEvent(db, ctx, 'payment_intent.canceled', next, previousAttributes(intent, next));
  return intentResult(db, next, params);
}
