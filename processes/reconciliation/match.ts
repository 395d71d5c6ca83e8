import { v5 as uuidv5 } from 'uuid';
import { LEDGER_NAMESPACE } from '../../commands/ids';
import type { PaymentStatus } from '../../domain/payment.state';

/**
 * Reconciliation's matching, pure: what the ledger's streams say moved through Stripe's balance in
 * a window, against the balance transactions Stripe lists for it. No clock, no I/O: the runner
 * (run.ts) fetches everything first, then this decides what disagrees and what can be healed.
 */

/** A half-open window [from, to), ISO 8601. */
export interface ReconciliationWindow {
  readonly from: string;
  readonly to: string;
}

/** One movement of money the ledger recorded, signed as Stripe signs its balance transactions. */
export interface LedgerMovement {
  readonly kind: 'capture' | 'refund';
  readonly paymentId: string;
  readonly currency: string;
  /** Stripe's object behind the movement: the charge of a capture, the refund of a refund. */
  readonly processorObjectId: string;
  readonly balanceTransactionId: string;
  /** Capture: + amount captured; refund: - amount refunded. */
  readonly amount: number;
  readonly fee: number;
  readonly net: number;
  /** The fact's own time (captured_at, refunded_at). */
  readonly at: string;
}

/** What the ledger holds of one payment, folded from its stream. */
export interface LedgerPaymentView {
  readonly paymentId: string;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly processorPaymentId: string | null;
  readonly movements: readonly LedgerMovement[];
}

/** The fields of a Stripe balance transaction that reconciliation reads. */
export interface ProcessorTransaction {
  readonly id: string;
  readonly amount: number;
  readonly fee: number;
  readonly net: number;
  readonly currency: string;
  readonly type: string;
  readonly reportingCategory: string;
  readonly source: string | null;
  /** Unix seconds. */
  readonly created: number;
}

/** Who a Stripe object belongs to, looked up through its PaymentIntent's `metadata.payment_id`. */
export interface SourceOwner {
  readonly paymentIntentId: string | null;
  /** null: the intent carries no payment_id (made outside the ledger). */
  readonly paymentId: string | null;
}

/** The charge's balance transactions (the charge and its partial capture reversal) or a refund's. */
export interface ProcessorGroup {
  readonly object: 'charge' | 'refund';
  readonly sourceId: string;
  readonly transactionIds: readonly string[];
  readonly currency: string;
  readonly amount: number;
  readonly fee: number;
  readonly net: number;
}

export const DISCREPANCY_KINDS = [
  'missing_in_ledger',
  'missing_at_processor',
  'amount_mismatch',
  'fee_mismatch',
  'currency_mismatch',
  'status_mismatch',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** What reconciliation may append, with `source: reconciliation`, for a gap that is unambiguous. */
export type HealPlan =
  | { readonly action: 'record_capture'; readonly paymentIntentId: string }
  | { readonly action: 'record_refund'; readonly processorRefundId: string };

export interface Discrepancy {
  /** Stable across runs: the same disagreement about the same object has the same fingerprint. */
  readonly fingerprint: string;
  readonly kind: DiscrepancyKind;
  readonly paymentId: string | null;
  readonly object: 'charge' | 'refund';
  /** Stripe's charge or refund id. */
  readonly processorObjectId: string;
  readonly balanceTransactionIds: readonly string[];
  readonly currency: string;
  /** What the ledger says (null: it says nothing). */
  readonly expected: Readonly<Record<string, string | number>> | null;
  /** What Stripe says (null: it says nothing). */
  readonly actual: Readonly<Record<string, string | number>> | null;
  readonly heal: HealPlan | null;
}

export interface CurrencyTotals {
  readonly currency: string;
  /** Change of the ledger's stripe_balance account (posted) from facts dated in the window. */
  readonly ledgerNet: number;
  /** Sum of `net` of the payment balance transactions Stripe created in the window. */
  readonly processorNet: number;
  /** ledgerNet - processorNet: positive, the ledger holds more than Stripe; negative, less. */
  readonly drift: number;
}

export interface MatchInput {
  readonly window: ReconciliationWindow;
  /** Every payment of the ledger (a movement in the window may belong to a payment created before it). */
  readonly payments: readonly LedgerPaymentView[];
  /** The balance transactions Stripe created in the window. */
  readonly transactions: readonly ProcessorTransaction[];
  /** Owners of the Stripe objects the processor ids did not match (see `sourcesToResolve`). */
  readonly owners: ReadonlyMap<string, SourceOwner>;
  /** Balance transactions of the ledger's movements that Stripe has, but created outside the window. */
  readonly elsewhereAtProcessor: ReadonlySet<string>;
  /** The ledger's stripe_balance change in the window, per currency. */
  readonly ledgerBalance: ReadonlyMap<string, number>;
}

export interface MatchResult {
  readonly discrepancies: readonly Discrepancy[];
  readonly matched: number;
  readonly matchedByMetadata: number;
  readonly groups: number;
  /** Balance transactions of other kinds (payouts, adjustments), listed but not payments. */
  readonly ignoredTransactions: number;
  readonly totals: readonly CurrencyTotals[];
}

const PAYMENT_CATEGORIES = new Set(['charge', 'refund', 'partial_capture_reversal']);

/** Unix seconds of an ISO time, as Stripe's `created` filters take them. */
export const toUnixSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** Whether an ISO time falls in the window; its bounds are parsed once, not on every call. */
export function windowTest(window: ReconciliationWindow): (iso: string) => boolean {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  return (iso) => {
    const at = Date.parse(iso);
    return at >= from && at < to;
  };
}

/** Groups payment balance transactions by their source: a partial capture's two become one charge group. */
export function groupTransactions(transactions: readonly ProcessorTransaction[]): { groups: ProcessorGroup[]; ignored: number } {
  const bySource = new Map<string, { object: 'charge' | 'refund'; txns: ProcessorTransaction[] }>();
  let ignored = 0;
  for (const txn of transactions) {
    if (!PAYMENT_CATEGORIES.has(txn.reportingCategory) || !txn.source) {
      ignored += 1;
      continue;
    }
    const object = txn.reportingCategory === 'refund' ? 'refund' : 'charge';
    const group = bySource.get(txn.source) ?? { object, txns: [] };
    group.txns.push(txn);
    bySource.set(txn.source, group);
  }
  const groups = [...bySource.entries()].map(([sourceId, { object, txns }]) => summarizeGroup(object, sourceId, txns));
  // Any fixed order will do (the discrepancies are sorted on their own), and comparing code units
  // costs far less than localeCompare over a day's charges.
  return { groups: groups.sort((a, b) => (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0)), ignored };
}

/** One pass over a source's transactions (one, or two for a partial capture): runs once per charge and refund of the window. */
function summarizeGroup(object: 'charge' | 'refund', sourceId: string, txns: readonly ProcessorTransaction[]): ProcessorGroup {
  const sorted = txns.length > 1 ? [...txns].sort((a, b) => a.id.localeCompare(b.id)) : txns;
  const currencies = new Set<string>();
  let amount = 0;
  let fee = 0;
  let net = 0;
  for (const t of sorted) {
    currencies.add(t.currency);
    amount += t.amount;
    fee += t.fee;
    net += t.net;
  }
  return { object, sourceId, transactionIds: sorted.map((t) => t.id), currency: [...currencies].sort().join(','), amount, fee, net };
}

interface MovementIndex {
  byObject: Map<string, LedgerMovement>;
  byTransaction: Map<string, LedgerMovement>;
}

function indexMovements(payments: readonly LedgerPaymentView[]): MovementIndex {
  const byObject = new Map<string, LedgerMovement>();
  const byTransaction = new Map<string, LedgerMovement>();
  for (const payment of payments) {
    for (const movement of payment.movements) {
      byObject.set(movement.processorObjectId, movement);
      if (movement.balanceTransactionId) byTransaction.set(movement.balanceTransactionId, movement);
    }
  }
  return { byObject, byTransaction };
}

function matchByProcessorIds(group: ProcessorGroup, index: MovementIndex): LedgerMovement | undefined {
  const byObject = index.byObject.get(group.sourceId);
  if (byObject) return byObject;
  for (const id of group.transactionIds) {
    const byTransaction = index.byTransaction.get(id);
    if (byTransaction) return byTransaction;
  }
  return undefined;
}

/** Stripe objects whose owner the runner must look up (their PaymentIntent's metadata) before `match`. */
export function sourcesToResolve(payments: readonly LedgerPaymentView[], transactions: readonly ProcessorTransaction[]): ProcessorGroup[] {
  const index = indexMovements(payments);
  return groupTransactions(transactions).groups.filter((group) => !matchByProcessorIds(group, index));
}

/** The ledger's movements in the window that Stripe did not list in it: the runner asks Stripe about each. */
export function movementsNotListed(
  window: ReconciliationWindow,
  payments: readonly LedgerPaymentView[],
  transactions: readonly ProcessorTransaction[],
): LedgerMovement[] {
  const listedTransactions = new Set(transactions.map((t) => t.id));
  const listedSources = new Set(transactions.map((t) => t.source));
  const inThisWindow = windowTest(window);
  return payments
    .flatMap((p) => p.movements)
    .filter((m) => inThisWindow(m.at) && !listedSources.has(m.processorObjectId) && !listedTransactions.has(m.balanceTransactionId));
}

export function fingerprintOf(kind: DiscrepancyKind, processorObjectId: string): string {
  return uuidv5(`reconciliation:${kind}:${processorObjectId}`, LEDGER_NAMESPACE);
}

export function match(input: MatchInput): MatchResult {
  const index = indexMovements(input.payments);
  const paymentsById = new Map(input.payments.map((p) => [p.paymentId, p]));
  const { groups, ignored } = groupTransactions(input.transactions);
  const discrepancies: Discrepancy[] = [];
  const matchedMovements = new Set<LedgerMovement>();
  let matched = 0;
  let matchedByMetadata = 0;

  for (const group of groups) {
    let movement = matchByProcessorIds(group, index);
    const owner = input.owners.get(group.sourceId);
    if (!movement && owner?.paymentId) {
      movement = soleUnmatchedCapture(group, paymentsById.get(owner.paymentId), input);
      if (movement) matchedByMetadata += 1;
    }
    if (movement) {
      matched += 1;
      matchedMovements.add(movement);
      discrepancies.push(...compare(movement, group));
      continue;
    }
    discrepancies.push(unmatchedGroup(group, owner, owner?.paymentId ? paymentsById.get(owner.paymentId) : undefined));
  }

  const inThisWindow = windowTest(input.window);
  for (const payment of input.payments) {
    for (const movement of payment.movements) {
      if (matchedMovements.has(movement) || !inThisWindow(movement.at)) continue;
      if (input.elsewhereAtProcessor.has(movement.balanceTransactionId)) continue;
      discrepancies.push({
        fingerprint: fingerprintOf('missing_at_processor', movement.processorObjectId),
        kind: 'missing_at_processor',
        paymentId: movement.paymentId,
        object: movement.kind === 'capture' ? 'charge' : 'refund',
        processorObjectId: movement.processorObjectId,
        balanceTransactionIds: movement.balanceTransactionId ? [movement.balanceTransactionId] : [],
        currency: movement.currency,
        expected: money(movement),
        actual: null,
        heal: null,
      });
    }
  }

  return {
    discrepancies: discrepancies.sort(byKindThenSubject),
    matched,
    matchedByMetadata,
    groups: groups.length,
    ignoredTransactions: ignored,
    totals: totals(input.ledgerBalance, groups),
  };
}

/**
 * The second way to match: Stripe's charge names a ledger payment whose one capture Stripe did not
 * list under the ledger's ids. Refunds are never paired this way: each refund is its own fact.
 */
function soleUnmatchedCapture(group: ProcessorGroup, payment: LedgerPaymentView | undefined, input: MatchInput): LedgerMovement | undefined {
  if (group.object !== 'charge' || !payment) return undefined;
  const capture = payment.movements.find((m) => m.kind === 'capture');
  if (!capture) return undefined;
  const listed = input.transactions.some((t) => t.source === capture.processorObjectId || t.id === capture.balanceTransactionId);
  return listed || input.elsewhereAtProcessor.has(capture.balanceTransactionId) ? undefined : capture;
}

function compare(movement: LedgerMovement, group: ProcessorGroup): Discrepancy[] {
  const found: Discrepancy[] = [];
  const base = {
    paymentId: movement.paymentId,
    object: group.object,
    processorObjectId: group.sourceId,
    balanceTransactionIds: group.transactionIds,
    currency: movement.currency,
    heal: null,
  };
  const add = (kind: DiscrepancyKind, field: 'currency' | 'amount' | 'fee') =>
    found.push({
      ...base,
      fingerprint: fingerprintOf(kind, group.sourceId),
      kind,
      expected: { [field]: movement[field] },
      actual: { [field]: group[field] },
    });
  if (movement.currency !== group.currency) add('currency_mismatch', 'currency');
  if (movement.amount !== group.amount) add('amount_mismatch', 'amount');
  if (movement.fee !== group.fee) add('fee_mismatch', 'fee');
  return found;
}

function unmatchedGroup(group: ProcessorGroup, owner: SourceOwner | undefined, payment: LedgerPaymentView | undefined): Discrepancy {
  const actual = { status: group.object === 'charge' ? 'captured' : 'refunded', ...money(group) };
  const base = {
    paymentId: owner?.paymentId ?? null,
    object: group.object,
    processorObjectId: group.sourceId,
    balanceTransactionIds: group.transactionIds,
    currency: group.currency,
  };
  const missing = (heal: HealPlan | null, expected: Discrepancy['expected'] = null): Discrepancy => ({
    ...base,
    fingerprint: fingerprintOf('missing_in_ledger', group.sourceId),
    kind: 'missing_in_ledger',
    expected,
    actual,
    heal,
  });
  if (!payment) return missing(null);
  if (payment.status === 'canceled' || payment.status === 'failed') {
    return {
      ...base,
      fingerprint: fingerprintOf('status_mismatch', group.sourceId),
      kind: 'status_mismatch',
      expected: { status: payment.status },
      actual,
      heal: null,
    };
  }
  const expected = { status: payment.status };
  if (group.object === 'refund') return missing({ action: 'record_refund', processorRefundId: group.sourceId }, expected);
  // A capture the ledger never heard of is unambiguous only while the ledger holds no capture and
  // knows the same PaymentIntent (or none yet); a second charge for one payment waits for a person.
  const noCaptureYet = payment.status === 'requested' || payment.status === 'authorized';
  const sameIntent = owner?.paymentIntentId && (payment.processorPaymentId === null || payment.processorPaymentId === owner.paymentIntentId);
  return missing(noCaptureYet && sameIntent ? { action: 'record_capture', paymentIntentId: owner.paymentIntentId! } : null, expected);
}

function money(m: { amount: number; fee: number; net: number; currency: string }): Record<string, string | number> {
  return { amount: m.amount, fee: m.fee, net: m.net, currency: m.currency };
}

function totals(ledgerBalance: ReadonlyMap<string, number>, groups: readonly ProcessorGroup[]): CurrencyTotals[] {
  const processor = new Map<string, number>();
  for (const group of groups) processor.set(group.currency, (processor.get(group.currency) ?? 0) + group.net);
  const currencies = [...new Set([...ledgerBalance.keys(), ...processor.keys()])].sort();
  return currencies.map((currency) => {
    const ledgerNet = ledgerBalance.get(currency) ?? 0;
    const processorNet = processor.get(currency) ?? 0;
    return { currency, ledgerNet, processorNet, drift: ledgerNet - processorNet };
  });
}

function byKindThenSubject(a: Discrepancy, b: Discrepancy): number {
  return (
    DISCREPANCY_KINDS.indexOf(a.kind) - DISCREPANCY_KINDS.indexOf(b.kind) ||
    (a.paymentId ?? '').localeCompare(b.paymentId ?? '') ||
    a.processorObjectId.localeCompare(b.processorObjectId)
  );
}
