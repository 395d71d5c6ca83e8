import { v5 as uuidv5 } from 'uuid';
import type { Position, RecordedEvent } from '../ports/event-store';
import { LEDGER_NAMESPACE } from '../commands/ids';
import { toPaymentEvent } from '../commands/payment-stream';

/**
 * The double-entry mapping of DESIGN section 8, pure: from what the ledger knows of a payment and
 * one event, the entries to record. Transfers are two-phase: an authorization is a pending
 * transfer, which a capture posts (for the amount captured, voiding the rest) and a cancel voids.
 */

export const STRIPE_BALANCE = 'stripe_balance';
export const merchantPayable = (merchantId: string): string => `merchant_payable:${merchantId}`;

export type EntryKind = 'authorization' | 'capture' | 'release' | 'cancel' | 'fee' | 'refund';
export type EntryPhase = 'pending' | 'posted' | 'voided';

export interface LedgerEntry {
  /** uuidv5 of the event id and `seq`: a replay or a rebuild writes the same ids. */
  readonly id: string;
  readonly eventId: string;
  /** Order of the entry among the entries of its event. */
  readonly seq: number;
  readonly paymentId: string;
  readonly kind: EntryKind;
  readonly phase: EntryPhase;
  /** For an entry that posts or voids a pending transfer: that transfer. */
  readonly pendingEntryId: string | null;
  readonly debitAccount: string;
  readonly creditAccount: string;
  readonly amount: number;
  readonly currency: string;
  readonly position: Position;
  readonly createdAt: string;
}

/** What the ledger keeps of one payment. */
export interface LedgerPayment {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly currency: string;
  readonly revision: number;
  /** The authorization's pending transfer while it still holds funds. */
  readonly pendingEntryId: string | null;
  readonly pendingAmount: number;
}

export interface Postings {
  readonly payment: LedgerPayment;
  readonly entries: readonly LedgerEntry[];
}

/** One account's balance change in one currency. */
export interface BalanceDelta {
  readonly account: string;
  readonly currency: string;
  readonly debitsPending: number;
  readonly creditsPending: number;
  readonly debitsPosted: number;
  readonly creditsPosted: number;
}

function assertLedger(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`ledger invariant violated: ${message}`);
}

/** The entries for `event`, or null when the ledger already reflects it (idempotency). */
export function postingsFor(previous: LedgerPayment | null, event: RecordedEvent, paymentId: string): Postings | null {
  if (previous && event.revision <= previous.revision) return null;
  const expected = previous ? previous.revision + 1 : 0;
  assertLedger(event.revision === expected, `${event.streamId} revision ${event.revision} follows ${expected - 1}`);
  const paymentEvent = toPaymentEvent(event);
  if (paymentEvent.type === 'PaymentRequested') {
    assertLedger(previous === null, `${event.streamId} requested twice`);
    const { merchant_id, currency } = paymentEvent.data;
    return { payment: { paymentId, merchantId: merchant_id, currency, revision: 0, pendingEntryId: null, pendingAmount: 0 }, entries: [] };
  }
  assertLedger(previous !== null, `${event.type} before PaymentRequested in ${event.streamId}`);
  const payment: LedgerPayment = { ...previous, revision: event.revision };
  const payable = merchantPayable(payment.merchantId);
  const entries: LedgerEntry[] = [];
  const entry = (kind: EntryKind, phase: EntryPhase, debit: string, credit: string, amount: number, at: string, pending: string | null = null) => {
    assertLedger(Number.isSafeInteger(amount) && amount > 0, `${kind} entry of ${amount} in ${event.streamId}`);
    const seq = entries.length;
    entries.push({
      id: uuidv5(`${event.id}:ledger:${seq}`, LEDGER_NAMESPACE),
      eventId: event.id,
      seq,
      paymentId,
      kind,
      phase,
      pendingEntryId: pending,
      debitAccount: debit,
      creditAccount: credit,
      amount,
      currency: payment.currency,
      position: event.position,
      createdAt: at,
    });
  };
  /** Voids what the authorization still holds; nothing when it holds nothing. */
  const release = (kind: 'release' | 'cancel', at: string): LedgerPayment => {
    if (payment.pendingEntryId === null) return payment;
    entry(kind, 'voided', STRIPE_BALANCE, payable, payment.pendingAmount, at, payment.pendingEntryId);
    return { ...payment, pendingEntryId: null, pendingAmount: 0 };
  };

  switch (paymentEvent.type) {
    case 'PaymentAuthorized': {
      const { amount_authorized: amount, authorized_at: at } = paymentEvent.data;
      assertLedger(payment.pendingEntryId === null, `${event.streamId} authorized twice`);
      entry('authorization', 'pending', STRIPE_BALANCE, payable, amount, at);
      return { payment: { ...payment, pendingEntryId: entries[0]!.id, pendingAmount: amount }, entries };
    }
    case 'PaymentCaptured': {
      const { amount_captured: captured, fee, captured_at: at } = paymentEvent.data;
      assertLedger(payment.pendingEntryId !== null, `${event.streamId} captured without a pending authorization`);
      assertLedger(captured <= payment.pendingAmount, `${event.streamId} captured ${captured} of ${payment.pendingAmount} held`);
      entry('capture', 'posted', STRIPE_BALANCE, payable, captured, at, payment.pendingEntryId);
      const rest = payment.pendingAmount - captured;
      if (rest > 0) entry('release', 'voided', STRIPE_BALANCE, payable, rest, at, payment.pendingEntryId);
      if (fee > 0) entry('fee', 'posted', payable, STRIPE_BALANCE, fee, at);
      return { payment: { ...payment, pendingEntryId: null, pendingAmount: 0 }, entries };
    }
    case 'PaymentCanceled':
      return { payment: release('cancel', paymentEvent.data.canceled_at), entries };
    // A capture that fails leaves nothing held at Stripe, so the hold is released here too.
    case 'PaymentFailed':
      return { payment: release('release', paymentEvent.data.failed_at), entries };
    case 'PaymentRefunded': {
      const { amount, refunded_at: at } = paymentEvent.data;
      entry('refund', 'posted', payable, STRIPE_BALANCE, amount, at);
      return { payment, entries };
    }
    case 'PaymentCaptureRequested':
    case 'PaymentCancelRequested':
    case 'RefundRequested':
    case 'RefundFailed':
      return { payment, entries };
    default: {
      const unreachable: never = paymentEvent;
      throw new Error(`ledger: unexpected event ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The balance changes of one entry, one per side. A pending entry adds to the pending columns;
 * an entry that posts a pending transfer moves its amount from pending to posted; a void takes it
 * out of pending; a posted entry of its own adds to the posted columns. Both sides move by the
 * same amount, so every entry balances.
 */
export function balanceDeltas(entry: LedgerEntry): readonly [BalanceDelta, BalanceDelta] {
  const a = entry.amount;
  let pending = 0;
  let posted = 0;
  if (entry.phase === 'pending') pending = a;
  else if (entry.phase === 'voided') pending = -a;
  else if (entry.pendingEntryId !== null) {
    pending = -a;
    posted = a;
  } else posted = a;
  const side = (account: string, debit: boolean): BalanceDelta => ({
    account,
    currency: entry.currency,
    debitsPending: debit ? pending : 0,
    creditsPending: debit ? 0 : pending,
    debitsPosted: debit ? posted : 0,
    creditsPosted: debit ? 0 : posted,
  });
  return [side(entry.debitAccount, true), side(entry.creditAccount, false)];
}

/**
 * The net balance change of several entries, one per account and currency that any of them
 * touches (a change that nets to zero included), ordered by account then currency.
 */
export function netBalanceDeltas(entries: readonly LedgerEntry[]): BalanceDelta[] {
  const sums = new Map<string, BalanceDelta>();
  for (const entry of entries) {
    for (const delta of balanceDeltas(entry)) {
      const key = `${delta.account}\u0000${delta.currency}`;
      const sum = sums.get(key);
      sums.set(
        key,
        sum
          ? {
              ...sum,
              debitsPending: sum.debitsPending + delta.debitsPending,
              creditsPending: sum.creditsPending + delta.creditsPending,
              debitsPosted: sum.debitsPosted + delta.debitsPosted,
              creditsPosted: sum.creditsPosted + delta.creditsPosted,
            }
          : delta,
      );
    }
  }
  return [...sums.values()].sort((a, b) => (a.account === b.account ? compareText(a.currency, b.currency) : compareText(a.account, b.account)));
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
