import type Stripe from 'stripe';
import canonicalize from 'canonicalize';
import type { EventMetadata, EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent } from '../../ports/event-store';
import { StreamConflictError } from '../../ports/event-store';
import type { ProcessorFact } from '../../domain/payment.commands';
import { loadPayment } from '../../commands/payment-stream';
import { withEventIds } from '../../commands/ids';
import type { StripeGateway } from '../stripe-gateway';
import { factFromRefund, factsFromPaymentIntent } from '../stripe-facts';
import { recordFacts } from '../record-facts';
import type { Discrepancy, ProcessorTransaction, ReconciliationWindow } from './match';
import { match, movementsNotListed, sourcesToResolve } from './match';
import { replayLedger, type LedgerReplay } from './ledger-replay';
import { findElsewhere, listBalanceTransactions, resolveOwners } from './processor-side';
import type { DiscrepancyData, Resolution, RunEvent, RunTrigger, RunView } from './run-events';
import { countsOf, discrepancyData, foldRun, RUN_STREAM_PREFIX, runStreamId, totalsData } from './run-events';

export type ReconciliationPhase = 'ledger' | 'processor' | 'owners' | 'healing' | 'done';

export interface ReconciliationProgress {
  readonly runId: string;
  readonly phase: ReconciliationPhase;
  /** Events replayed, balance transactions listed, objects looked up or discrepancies healed so far. */
  readonly done: number;
  readonly total: number | null;
}

export interface ReconciliationDependencies {
  readonly store: EventStore;
  readonly gateway: StripeGateway;
  readonly clock: () => Date;
  readonly onProgress?: (progress: ReconciliationProgress) => void;
}

export interface RunRequest {
  readonly runId: string;
  readonly window: ReconciliationWindow;
  readonly trigger: RunTrigger;
  readonly actor: string;
  /** Set when the run was asked for over HTTP: the key and body hash live in the stream, as for payments. */
  readonly idempotencyKey?: string;
  readonly requestHash?: string;
}

/** Appends ReconciliationRequested; the same run id again appends nothing and returns the run as it stands. */
export async function requestRun(store: EventStore, request: RunRequest, now: Date): Promise<{ run: RunView; created: boolean; events: RecordedEvent[] }> {
  const streamId = runStreamId(request.runId);
  const event: RunEvent = {
    type: 'ReconciliationRequested',
    data: { run_id: request.runId, from: request.window.from, to: request.window.to, trigger: request.trigger, requested_at: now.toISOString() },
  };
  let created = true;
  try {
    await store.append(streamId, toNewEvents(streamId, 0, [event], metadataFor(request)), 'no_stream');
  } catch (error) {
    if (!(error instanceof StreamConflictError)) throw error;
    created = false;
  }
  const events = await store.read(streamId);
  return { run: foldRun(events)!, created, events };
}

/**
 * One reconciliation run, safe to repeat: a completed run is returned as it is, and a run cut off
 * half-way is computed again (its healing facts have deterministic ids and the decider drops facts
 * the stream already holds, so nothing is booked twice).
 */
export async function executeRun(deps: ReconciliationDependencies, request: RunRequest): Promise<RunView> {
  try {
    return await computeRun(deps, request);
  } catch (error) {
    if (!(error instanceof RunFinishedElsewhere)) throw error;
    return foldRun(await deps.store.read(runStreamId(request.runId)))!;
  }
}

async function computeRun(deps: ReconciliationDependencies, request: RunRequest): Promise<RunView> {
  const streamId = runStreamId(request.runId);
  let events = await deps.store.read(streamId);
  if (events.length === 0) events = (await requestRun(deps.store, request, deps.clock())).events;
  const existing = foldRun(events)!;
  if (existing.status === 'completed') return existing;
  const window = { from: existing.from, to: existing.to };
  const metadata = metadataFor(request);
  let revision = events[events.length - 1]!.revision;
  if (existing.status === 'requested') {
    const started: RunEvent = { type: 'ReconciliationStarted', data: { run_id: request.runId, ...window, started_at: deps.clock().toISOString() } };
    revision = (await appendOrFinished(deps.store, streamId, [started], revision, metadata)).revision;
  }

  const progress = (phase: ReconciliationPhase, done: number, total: number | null = null) =>
    deps.onProgress?.({ runId: request.runId, phase, done, total });
  const { ledger, transactions } = await readBothSides(deps, window, progress);
  const unmatched = sourcesToResolve(ledger.payments, transactions);
  const notListed = movementsNotListed(window, ledger.payments, transactions);
  progress('owners', 0, unmatched.length + notListed.length);
  const sources = await resolveOwners(deps.gateway, unmatched);
  const elsewhere = await findElsewhere(deps.gateway, notListed);
  const result = match({
    window,
    payments: ledger.payments,
    transactions,
    owners: sources.owners,
    elsewhereAtProcessor: elsewhere,
    ledgerBalance: ledger.stripeBalance,
  });

  const found: RunEvent[] = result.discrepancies.map((d) => ({ type: 'DiscrepancyFound', data: discrepancyData(request.runId, d) }));
  const healed = await heal(deps, request, result.discrepancies, sources.refunds, progress);
  const healedIds = new Set(healed.map((e) => (e.type === 'DiscrepancyHealed' ? e.data.discrepancy_id : '')));
  const stillOpen = found.filter((e) => e.type === 'DiscrepancyFound' && !healedIds.has(e.data.discrepancy_id));
  const carried = carryResolutions(await earlierResolutions(deps.store, request.runId), stillOpen, deps.clock());
  const completed: RunEvent = {
    type: 'ReconciliationCompleted',
    data: {
      run_id: request.runId,
      payments: ledger.payments.length,
      events: ledger.events,
      balance_transactions: transactions.length,
      matched: result.matched,
      counts: countsOf(result.discrepancies),
      discrepancies: result.discrepancies.length,
      healed: healed.length,
      unresolved: result.discrepancies.length - healed.length - carried.length,
      totals: totalsData(result),
      completed_at: deps.clock().toISOString(),
    },
  };
  await appendOrFinished(deps.store, streamId, [...found, ...healed, ...carried, completed], revision, metadata);
  progress('done', result.discrepancies.length);
  return foldRun(await deps.store.read(streamId))!;
}

type Progress = (phase: ReconciliationPhase, done: number, total?: number | null) => void;

/**
 * Replays the streams (Postgres) and lists the balance transactions (Stripe) at the same time: the
 * two are independent and each mostly waits on its own server. Progress still goes through the
 * phases in order: the listing reports only once the replay is done.
 */
async function readBothSides(
  deps: ReconciliationDependencies,
  window: ReconciliationWindow,
  progress: Progress,
): Promise<{ ledger: LedgerReplay; transactions: ProcessorTransaction[] }> {
  let replayed = false;
  const [ledger, transactions] = await Promise.all([
    replayLedger(deps.store, window, { onBatch: (done) => progress('ledger', done) }).then((replay) => {
      replayed = true;
      return replay;
    }),
    listBalanceTransactions(deps.gateway, window, (done) => {
      if (replayed) progress('processor', done);
    }),
  ]);
  progress('processor', transactions.length);
  return { ledger, transactions };
}

/**
 * Appends the facts Stripe holds and the ledger lacks, with `source: reconciliation`. Captures go
 * first, so that a refund of a capture the ledger also missed can follow it. A fact the decider
 * refuses (it contradicts the stream) leaves the discrepancy open for a person.
 */
async function heal(
  deps: ReconciliationDependencies,
  request: RunRequest,
  discrepancies: readonly Discrepancy[],
  refunds: ReadonlyMap<string, Stripe.Refund>,
  progress: Progress,
): Promise<RunEvent[]> {
  const plans = discrepancies
    .filter((d) => d.heal !== null && d.paymentId !== null)
    .sort((a, b) => (a.heal!.action === b.heal!.action ? 0 : a.heal!.action === 'record_capture' ? -1 : 1));
  const healed: RunEvent[] = [];
  let done = 0;
  for (const d of plans) {
    const paymentId = d.paymentId!;
    const facts = await factsFor(deps, d, paymentId, refunds);
    const discrepancyId = discrepancyData(request.runId, d).discrepancy_id;
    const metadata: EventMetadata = {
      correlation_id: request.runId,
      causation_id: discrepancyId,
      actor: 'reconciliation',
      source: 'reconciliation',
    };
    const recorded = await recordFacts(deps.store, paymentId, facts, metadata);
    progress('healing', (done += 1), plans.length);
    // Nothing appended and nothing refused: another run (or the saga) booked the same facts first.
    if (facts.length > 0 && recorded.rejected.length === 0) {
      healed.push({
        type: 'DiscrepancyHealed',
        data: { discrepancy_id: discrepancyId, facts: recorded.appended.map((e) => e.type), healed_at: deps.clock().toISOString() },
      });
    }
  }
  return healed;
}

async function factsFor(
  deps: ReconciliationDependencies,
  d: Discrepancy,
  paymentId: string,
  refunds: ReadonlyMap<string, Stripe.Refund>,
): Promise<ProcessorFact[]> {
  const plan = d.heal!;
  if (plan.action === 'record_refund') {
    const refund =
      refunds.get(plan.processorRefundId) ??
      (await deps.gateway.call('refunds.retrieve', (stripe) => stripe.refunds.retrieve(plan.processorRefundId)));
    const fact = factFromRefund(refund);
    return fact ? [fact] : [];
  }
  const { state } = await loadPayment(deps.store, paymentId);
  if (state.status === 'initial') return [];
  const intent = await deps.gateway.call('payment_intents.retrieve', (stripe) =>
    stripe.paymentIntents.retrieve(plan.paymentIntentId, { expand: ['latest_charge.balance_transaction'] }),
  );
  return factsFromPaymentIntent(intent, state);
}

interface EarlierResolution {
  readonly runId: string;
  readonly discrepancyId: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly resolution: Resolution;
  readonly note: string;
}

/** The resolutions people gave in earlier runs, by fingerprint, read from the runs' own streams. */
async function earlierResolutions(store: EventStore, exceptRunId: string): Promise<Map<string, EarlierResolution>> {
  const found = new Map<string, DiscrepancyData>();
  const resolved = new Map<string, EarlierResolution>();
  let after: Position | null = null;
  for (;;) {
    const page = await store.readAll(after, { batch: 5000, streamPrefix: RUN_STREAM_PREFIX });
    for (const event of page) {
      if (event.streamId === runStreamId(exceptRunId)) continue;
      if (event.type === 'DiscrepancyFound') found.set(String(event.data.discrepancy_id), event.data as unknown as DiscrepancyData);
      const d = found.get(String(event.data.discrepancy_id));
      if (event.type === 'DiscrepancyResolved' && d) {
        resolved.set(d.fingerprint, {
          runId: event.streamId.slice(RUN_STREAM_PREFIX.length),
          discrepancyId: d.discrepancy_id,
          expected: d.expected,
          actual: d.actual,
          resolution: event.data.resolution as Resolution,
          note: String(event.data.note),
        });
      }
    }
    if (page.length < 5000) break;
    after = page[page.length - 1]!.position;
  }
  return resolved;
}

/**
 * A person's decision stands for the same disagreement found again (the same window run twice): a
 * discrepancy with the fingerprint, expected and actual values of one resolved before is resolved
 * the same way, naming the earlier one. Anything that changed needs a person again.
 */
function carryResolutions(earlier: ReadonlyMap<string, EarlierResolution>, found: readonly RunEvent[], now: Date): RunEvent[] {
  const carried: RunEvent[] = [];
  for (const event of found) {
    if (event.type !== 'DiscrepancyFound') continue;
    const before = earlier.get(event.data.fingerprint);
    if (!before || !sameJson(before.expected, event.data.expected) || !sameJson(before.actual, event.data.actual)) continue;
    carried.push({
      type: 'DiscrepancyResolved',
      data: {
        discrepancy_id: event.data.discrepancy_id,
        resolution: before.resolution,
        note: `carried from discrepancy ${before.discrepancyId} of run ${before.runId}: ${before.note}`,
        resolved_by: 'reconciliation',
        resolved_at: now.toISOString(),
      },
    });
  }
  return carried;
}

const sameJson = (a: unknown, b: unknown): boolean => canonicalize(a) === canonicalize(b);

function metadataFor(request: RunRequest): EventMetadata {
  return {
    correlation_id: request.runId,
    causation_id: request.runId,
    actor: request.actor,
    source: 'reconciliation',
    ...(request.idempotencyKey ? { idempotency_key: request.idempotencyKey, command: 'ReconcileWindow' } : {}),
    ...(request.requestHash ? { request_hash: request.requestHash } : {}),
  };
}

function toNewEvents(streamId: string, fromRevision: number, events: readonly RunEvent[], metadata: EventMetadata): NewEvent[] {
  return withEventIds(
    streamId,
    fromRevision,
    events.map((event) => ({ type: event.type, data: event.data as unknown as Record<string, unknown>, metadata })),
  );
}

/** Appends after `revision`; when another worker finished the same run first, its result stands. */
async function appendOrFinished(
  store: EventStore,
  streamId: string,
  events: readonly RunEvent[],
  revision: number,
  metadata: EventMetadata,
): Promise<{ revision: number }> {
  const expected: ExpectedRevision = revision;
  try {
    return await store.append(streamId, toNewEvents(streamId, revision + 1, events, metadata), expected);
  } catch (error) {
    if (!(error instanceof StreamConflictError)) throw error;
    const run = foldRun(await store.read(streamId));
    if (run?.status === 'completed') throw new RunFinishedElsewhere(streamId);
    throw error;
  }
}

/** Another worker completed the same run while this one computed it: this one's result is dropped. */
export class RunFinishedElsewhere extends Error {
  override readonly name = 'RunFinishedElsewhere';
}
