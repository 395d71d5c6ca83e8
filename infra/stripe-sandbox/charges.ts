import { recordCapture } from './balance-transactions';
import type { OpContext } from './context';
import { emitEvent, previousAttributes } from './events';
import { newId } from './ids';
import type { Charge, PaymentIntent } from './objects';
import { insertObject, saveObject, type Db } from './store';

export interface ChargeFailure {
  code: string;
  declineCode?: string;
  message: string;
}

/** The charge a confirmation makes, authorized (not yet captured) or failed; the caller reports it once final. */
export async function createCharge(
  db: Db,
  ctx: OpContext,
  intent: PaymentIntent,
  paymentMethod: string,
  failure?: ChargeFailure,
): Promise<Charge> {
  const charge: Charge = {
    id: newId('ch'),
    object: 'charge',
    amount: intent.amount,
    amount_captured: 0,
    amount_refunded: 0,
    captured: false,
    refunded: false,
    paid: failure === undefined,
    status: failure ? 'failed' : 'succeeded',
    currency: intent.currency,
    balance_transaction: null,
    payment_intent: intent.id,
    payment_method: paymentMethod,
    failure_code: failure?.code ?? null,
    failure_message: failure?.message ?? null,
    outcome: failure
      ? { network_status: 'declined_by_network', reason: failure.declineCode ?? failure.code, type: 'issuer_declined', seller_message: 'The bank did not return any further details with this decline.' }
      : { network_status: 'approved_by_network', reason: null, type: 'authorized', seller_message: 'Payment complete.' },
    metadata: { ...intent.metadata },
    created: ctx.now,
    livemode: false,
  };
  await insertObject(db, charge);
  return charge;
}

/**
 * Captures `amount` of an authorized charge and records its balance transactions. Stripe sends
 * charge.captured only for a separate capture; an automatic capture is reported by charge.succeeded.
 */
export async function captureCharge(db: Db, ctx: OpContext, charge: Charge, amount: number, separate: boolean): Promise<Charge> {
  const txn = await recordCapture(db, ctx, charge, amount);
  const captured: Charge = { ...charge, captured: true, amount_captured: amount, balance_transaction: txn.id };
  await saveObject(db, captured);
  if (separate) await emitEvent(db, ctx, 'charge.captured', captured, previousAttributes(charge, captured));
  return captured;
}
