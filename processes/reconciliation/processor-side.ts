import Stripe from 'stripe';
import type { StripeGateway } from '../stripe-gateway';
import type { LedgerMovement, ProcessorGroup, ProcessorTransaction, ReconciliationWindow, SourceOwner } from './match';
import { toUnixSeconds } from './match';

/**
 * Slices of the window listed at once. A Stripe list page holds at most 100 transactions, so one
 * cursor walks a busy day in thousands of requests, one after the other; slices of the `created`
 * range are disjoint and each has a cursor of its own. At a few hundred milliseconds a page, four
 * cursors stay well under Stripe's limit of 25 requests/s per endpoint.
 */
export const LIST_SLICES = 4;

/** Every balance transaction Stripe created in the window, through the SDK's auto-pagination, a slice at a time per cursor. */
export async function listBalanceTransactions(
  gateway: StripeGateway,
  window: ReconciliationWindow,
  onPage?: (listed: number) => void,
  slices = LIST_SLICES,
): Promise<ProcessorTransaction[]> {
  let listed = 0;
  const listSlice = (created: { gte: number; lt: number }) =>
    gateway.call('balance_transactions.list', async (stripe) => {
      const out: ProcessorTransaction[] = [];
      for await (const txn of stripe.balanceTransactions.list({ created, limit: 100 })) {
        out.push(toProcessorTransaction(txn));
        if ((listed += 1) % 100 === 0) onPage?.(listed);
      }
      return out;
    });
  const lists = await Promise.all(createdSlices(window, slices).map(listSlice));
  onPage?.(listed);
  return lists.flat();
}

/** `slices` disjoint ranges of whole seconds covering the window exactly; fewer when it is shorter. */
export function createdSlices(window: ReconciliationWindow, slices: number): { gte: number; lt: number }[] {
  const from = toUnixSeconds(window.from);
  const to = toUnixSeconds(window.to);
  const count = Math.max(1, Math.min(slices, to - from));
  const bound = (i: number) => from + Math.floor(((to - from) * i) / count);
  return Array.from({ length: count }, (_, i) => ({ gte: bound(i), lt: i === count - 1 ? to : bound(i + 1) }));
}

export function toProcessorTransaction(txn: Stripe.BalanceTransaction): ProcessorTransaction {
  const source = typeof txn.source === 'string' ? txn.source : (txn.source?.id ?? null);
  return {
    id: txn.id,
    amount: txn.amount,
    fee: txn.fee,
    net: txn.net,
    currency: txn.currency,
    type: txn.type,
    reportingCategory: txn.reporting_category,
    source,
    created: txn.created,
  };
}

export interface ResolvedSources {
  readonly owners: Map<string, SourceOwner>;
  /** The Refund objects looked up on the way, kept for healing. */
  readonly refunds: Map<string, Stripe.Refund>;
}

/**
 * Finds the ledger payment of each Stripe object the processor ids did not match, through its
 * PaymentIntent's `metadata.payment_id` (the charge's own metadata is not enough: Stripe does not
 * copy an intent's metadata to its charges). Only the unmatched few are looked up.
 */
export async function resolveOwners(gateway: StripeGateway, groups: readonly ProcessorGroup[]): Promise<ResolvedSources> {
  const owners = new Map<string, SourceOwner>();
  const refunds = new Map<string, Stripe.Refund>();
  const intents = new Map<string, string | null>();
  const paymentIdOfIntent = async (intentId: string): Promise<string | null> => {
    if (!intents.has(intentId)) {
      const intent = await gateway.call('payment_intents.retrieve', (stripe) => stripe.paymentIntents.retrieve(intentId));
      intents.set(intentId, intent.metadata?.payment_id ?? null);
    }
    return intents.get(intentId) ?? null;
  };
  for (const group of groups) {
    let intentId: string | null;
    if (group.object === 'refund') {
      const refund = await gateway.call('refunds.retrieve', (stripe) => stripe.refunds.retrieve(group.sourceId));
      refunds.set(refund.id, refund);
      intentId = idOf(refund.payment_intent);
    } else {
      const charge = await gateway.call('charges.retrieve', (stripe) => stripe.charges.retrieve(group.sourceId));
      intentId = idOf(charge.payment_intent);
    }
    owners.set(group.sourceId, { paymentIntentId: intentId, paymentId: intentId ? await paymentIdOfIntent(intentId) : null });
  }
  return { owners, refunds };
}

/**
 * The ledger's movements in the window that Stripe did not list there: those Stripe has (created
 * just outside the window) belong to another window's run; the rest are missing at Stripe.
 */
export async function findElsewhere(gateway: StripeGateway, movements: readonly LedgerMovement[]): Promise<Set<string>> {
  const elsewhere = new Set<string>();
  for (const movement of movements) {
    if (!movement.balanceTransactionId) continue;
    const found = await gateway
      .call('balance_transactions.retrieve', (stripe) => stripe.balanceTransactions.retrieve(movement.balanceTransactionId))
      .catch((error: unknown) => {
        if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing') return null;
        throw error;
      });
    if (found) elsewhere.add(movement.balanceTransactionId);
  }
  return elsewhere;
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}
