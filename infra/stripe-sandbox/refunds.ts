import { recordBalanceTransaction } from './balance-transactions';
import type { OpContext } from './context';
import { invalidRequest, resourceMissing, type ApiResult } from './errors';
import { emitEvent, previousAttributes } from './events';
import { expandObject } from './expand';
import { newId } from './ids';
import type { Charge, Refund } from './objects';
import { expandPaths, optionalEnum, optionalInteger, optionalMetadata, optionalString, rejectUnknown, type Params } from './params';
import { loadIntent } from './payment-intents';
import { getObject, insertObject, saveObject, type Db } from './store';

/**
 * Refunds part or all of what remains of a captured charge. The charge row is locked, so two
 * concurrent refunds cannot both take the same remaining amount.
 */
export async function createRefund(db: Db, ctx: OpContext, params: Params): Promise<ApiResult> {
  rejectUnknown(params, ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand']);
  const chargeId = await chargeToRefund(db, params);
  const charge = await getObject<Charge>(db, chargeId, { forUpdate: true });
  if (!charge || charge.object !== 'charge') throw resourceMissing('charge', chargeId, 'charge');
  if (!charge.captured) {
    throw invalidRequest(`Charge ${charge.id} has not been captured; cancel its PaymentIntent to release the authorization instead.`, {
      code: 'charge_not_captured',
    });
  }
  const remaining = charge.amount_captured - charge.amount_refunded;
  if (remaining === 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
  const amount = optionalInteger(params, 'amount', 1) ?? remaining;
  if (amount > remaining) {
    throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, {
      code: 'amount_too_large',
      param: 'amount',
    });
  }
  const refundId = newId('re');
  const txn = await recordBalanceTransaction(db, ctx, {
    amount: -amount,
    fee: 0,
    currency: charge.currency,
    type: 'refund',
    reporting_category: 'refund',
    source: refundId,
    description: 'REFUND FOR CHARGE',
  });
  const refund: Refund = {
    id: refundId,
    object: 'refund',
    amount,
    charge: charge.id,
    payment_intent: charge.payment_intent,
    currency: charge.currency,
    status: 'succeeded',
    reason: optionalEnum(params, 'reason', ['duplicate', 'fraudulent', 'requested_by_customer'] as const) ?? null,
    balance_transaction: txn.id,
    metadata: optionalMetadata(params) ?? {},
    created: ctx.now,
  };
  await insertObject(db, refund);
  const refunded = charge.amount_refunded + amount;
  const next: Charge = { ...charge, amount_refunded: refunded, refunded: refunded === charge.amount_captured };
  await saveObject(db, next);
  await emitEvent(db, ctx, 'refund.created', refund);
  await emitEvent(db, ctx, 'charge.refunded', next, previousAttributes(charge, next));
  return { status: 200, body: await expandObject(db, refund, expandPaths(params)) };
}

async function chargeToRefund(db: Db, params: Params): Promise<string> {
  const chargeId = optionalString(params, 'charge');
  const intentId = optionalString(params, 'payment_intent');
  if (!intentId) {
    if (!chargeId) throw invalidRequest('One of the following params should be provided for this request: payment_intent or charge.');
    return chargeId;
  }
  const intent = await loadIntent(db, intentId);
  if (!intent.latest_charge || intent.status !== 'succeeded') {
    throw invalidRequest(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, { param: 'payment_intent' });
  }
  if (chargeId && chargeId !== intent.latest_charge) {
    throw invalidRequest(`Charge ${chargeId} does not belong to PaymentIntent ${intent.id}.`, { param: 'charge' });
  }
  return intent.latest_charge;
}
