import type { EventStore, Position, RecordedEvent } from '../../ports/event-store';
import { toPaymentEvent } from '../../commands/payment-stream';
import { evolve, initialState, isPayment } from '../../domain/payment.state';
import type { Payment, PaymentState } from '../../domain/payment.state';
import type { PaymentEvent } from '../../domain/payment.events';
import { balanceDeltas, postingsFor, STRIPE_BALANCE } from '../../projections/ledger.postings';
import type { LedgerPayment } from '../../projections/ledger.postings';
import type { LedgerMovement, LedgerPaymentView, ReconciliationWindow } from './match';
import { windowTest } from './match';

export const PAYMENT_STREAM_PREFIX = 'payment-';

export interface LedgerReplay {
  readonly payments: LedgerPaymentView[];
  /** Posted change of stripe_balance per currency from entries dated in the window. */
  readonly stripeBalance: Map<string, number>;
  readonly events: number;
}

interface StreamFold {
  state: PaymentState;
  ledger: LedgerPayment | null;
  movements: LedgerMovement[];
}

/**
 * Replays every payment stream from the event store (never from a read model, which could lag or
 * be wrong in the very way reconciliation must catch). The stripe_balance account is computed with
 * the ledger projection's own posting rules, so the drift compares Stripe with what the ledger
 * *books*, not with a second interpretation of the events.
 */
export async function replayLedger(
  store: EventStore,
  window: ReconciliationWindow,
  options: { readonly batch?: number; readonly onBatch?: (events: number) => void } = {},
): Promise<LedgerReplay> {
  const batch = options.batch ?? 5000;
  const streams = new Map<string, StreamFold>();
  const stripeBalance = new Map<string, number>();
  const inThisWindow = windowTest(window);
  const read = (after: Position | null) => store.readAll(after, { batch, streamPrefix: PAYMENT_STREAM_PREFIX });
  let page: RecordedEvent[] = await read(null);
  let events = 0;
  for (;;) {
    // The next page is read while this one is folded: Postgres and the fold each wait less.
    const next = page.length < batch ? null : read(page[page.length - 1]!.position);
    // Awaited below; should the fold throw first, its failure must not go unhandled.
    next?.catch(() => undefined);
    for (const event of page) {
      const fold = streams.get(event.streamId) ?? { state: initialState(), ledger: null, movements: [] };
      streams.set(event.streamId, applyEvent(fold, event, inThisWindow, stripeBalance));
    }
    events += page.length;
    options.onBatch?.(events);
    if (!next) break;
    page = await next;
  }
  const payments: LedgerPaymentView[] = [];
  for (const fold of streams.values()) {
    if (!isPayment(fold.state)) continue;
    payments.push({
      paymentId: fold.state.paymentId,
      currency: fold.state.currency,
      status: fold.state.status,
      processorPaymentId: fold.state.processorPaymentId,
      movements: fold.movements,
    });
  }
  return { payments, stripeBalance, events };
}

function applyEvent(fold: StreamFold, event: RecordedEvent, inWindow: (iso: string) => boolean, stripeBalance: Map<string, number>): StreamFold {
  const paymentEvent = toPaymentEvent(event);
  const state = evolve(fold.state, paymentEvent);
  if (!isPayment(state)) throw new Error(`stream ${event.streamId} holds no payment`);
  const postings = postingsFor(fold.ledger, event, state.paymentId);
  for (const entry of postings?.entries ?? []) {
    if (!inWindow(entry.createdAt)) continue;
    for (const delta of balanceDeltas(entry)) {
      if (delta.account !== STRIPE_BALANCE) continue;
      stripeBalance.set(delta.currency, (stripeBalance.get(delta.currency) ?? 0) + delta.debitsPosted - delta.creditsPosted);
    }
  }
  const movement = movementOf(paymentEvent, state);
  // Most events move no money: their fold keeps the same array rather than a copy of it.
  const movements = movement ? [...fold.movements, movement] : fold.movements;
  return { state, ledger: postings?.payment ?? fold.ledger, movements };
}

/** The money a capture or a refund moved through Stripe's balance, signed as Stripe signs it. */
function movementOf(paymentEvent: PaymentEvent, state: Payment): LedgerMovement | null {
  if (paymentEvent.type === 'PaymentCaptured') {
    const d = paymentEvent.data;
    return {
      kind: 'capture',
      paymentId: state.paymentId,
      currency: state.currency,
      processorObjectId: d.processor_charge_id,
      balanceTransactionId: d.balance_transaction_id,
      amount: d.amount_captured,
      fee: d.fee,
      net: d.net,
      at: d.captured_at,
    };
  }
  if (paymentEvent.type === 'PaymentRefunded') {
    const d = paymentEvent.data;
    return {
      kind: 'refund',
      paymentId: state.paymentId,
      currency: state.currency,
      processorObjectId: d.processor_refund_id,
      balanceTransactionId: d.balance_transaction_id,
      amount: -d.amount,
      fee: 0,
      net: -d.amount,
      at: d.refunded_at,
    };
  }
  return null;
}
