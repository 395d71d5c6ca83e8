import type { OpContext } from './context';
import { stripeFee } from './fees';
import { newId } from './ids';
import type { BalanceTransaction, Charge } from './objects';
import { insertObject, type Db } from './store';

interface NewBalanceTransaction {
  amount: number;
  fee: number;
  currency: string;
  type: BalanceTransaction['type'];
  reporting_category: BalanceTransaction['reporting_category'];
  source: string;
  description: string | null;
}

/** Funds are available at once: the sandbox has no payouts, so a pending period would only get in the way. */
export async function recordBalanceTransaction(db: Db, ctx: OpContext, t: NewBalanceTransaction): Promise<BalanceTransaction> {
  const txn: BalanceTransaction = {
    id: newId('txn'),
    object: 'balance_transaction',
    amount: t.amount,
    fee: t.fee,
    fee_details:
      t.fee === 0 ? [] : [{ amount: t.fee, application: null, currency: t.currency, description: 'Stripe processing fees', type: 'stripe_fee' }],
    net: t.amount - t.fee,
    currency: t.currency,
    type: t.type,
    reporting_category: t.reporting_category,
    source: t.source,
    status: 'available',
    available_on: ctx.now,
    created: ctx.now,
    description: t.description,
    exchange_rate: null,
  };
  await insertObject(db, txn);
  return txn;
}

/**
 * The balance transactions of a capture. The sandbox's reading of Stripe for a partial capture: the
 * charge's own transaction is for the whole authorization (`type: charge`, amount = authorized) with
 * the fee computed on the captured amount only, and a second one (`type: refund`,
 * `reporting_category: partial_capture_reversal`, source = the charge, fee 0) gives back the
 * uncaptured part as a negative amount. The two amounts sum to the captured amount and the two nets
 * to captured - fee. The release is not a Refund object and does not count in `amount_refunded`.
 */
export async function recordCapture(db: Db, ctx: OpContext, charge: Charge, captured: number): Promise<BalanceTransaction> {
  const main = await recordBalanceTransaction(db, ctx, {
    amount: charge.amount,
    fee: stripeFee(captured),
    currency: charge.currency,
    type: 'charge',
    reporting_category: 'charge',
    source: charge.id,
    description: null,
  });
  const released = charge.amount - captured;
  if (released > 0) {
    await recordBalanceTransaction(db, ctx, {
      amount: -released,
      fee: 0,
      currency: charge.currency,
      type: 'refund',
      reporting_category: 'partial_capture_reversal',
      source: charge.id,
      description: 'REFUND FOR CHARGE (Partial capture reversal)',
    });
  }
  return main;
}
