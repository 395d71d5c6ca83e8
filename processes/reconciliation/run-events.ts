import { v5 as uuidv5 } from 'uuid';
import { LEDGER_NAMESPACE } from '../../commands/ids';
import type { RecordedEvent } from '../../ports/event-store';
import type { Discrepancy, DiscrepancyKind, MatchResult, ReconciliationWindow } from './match';
import { DISCREPANCY_KINDS } from './match';

/** The facts of one reconciliation run, in its own stream `reconciliation-<runId>`; data is snake_case. */

export const RUN_STREAM_PREFIX = 'reconciliation-';
export const runStreamId = (runId: string): string => `${RUN_STREAM_PREFIX}${runId}`;

export type RunTrigger = 'api' | 'cli' | 'schedule';
export const RESOLUTIONS = ['accepted', 'fixed_by_booking'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** The same disagreement found again in the same run has the same id. */
export function discrepancyIdFor(runId: string, fingerprint: string): string {
  return uuidv5(`${runId}:discrepancy:${fingerprint}`, LEDGER_NAMESPACE);
}

/** A scheduled run's id comes from its window, so a job retried or fired twice is one run. */
export function scheduledRunId(window: ReconciliationWindow): string {
  return uuidv5(`reconciliation:schedule:${window.from}:${window.to}`, LEDGER_NAMESPACE);
}

export interface DiscrepancyData {
  readonly discrepancy_id: string;
  readonly fingerprint: string;
  readonly kind: DiscrepancyKind;
  readonly payment_id: string | null;
  /** The kind of Stripe object: a charge (with its partial capture reversal) or a refund. */
  readonly processor_object: 'charge' | 'refund';
  readonly processor_object_id: string;
  readonly balance_transaction_ids: readonly string[];
  readonly currency: string;
  readonly expected: Readonly<Record<string, string | number>> | null;
  readonly actual: Readonly<Record<string, string | number>> | null;
  readonly healable: boolean;
}

export interface TotalsData {
  readonly currency: string;
  readonly ledger_net: number;
  readonly processor_net: number;
  readonly drift: number;
}

export interface CompletedData {
  readonly run_id: string;
  readonly payments: number;
  readonly events: number;
  readonly balance_transactions: number;
  readonly matched: number;
  readonly counts: Readonly<Record<DiscrepancyKind, number>>;
  readonly discrepancies: number;
  readonly healed: number;
  readonly unresolved: number;
  readonly totals: readonly TotalsData[];
  readonly completed_at: string;
}

export type RunEvent =
  | { readonly type: 'ReconciliationRequested'; readonly data: { run_id: string; from: string; to: string; trigger: RunTrigger; requested_at: string } }
  | { readonly type: 'ReconciliationStarted'; readonly data: { run_id: string; from: string; to: string; started_at: string } }
  | { readonly type: 'DiscrepancyFound'; readonly data: DiscrepancyData }
  | { readonly type: 'DiscrepancyHealed'; readonly data: { discrepancy_id: string; facts: readonly string[]; healed_at: string } }
  | { readonly type: 'ReconciliationCompleted'; readonly data: CompletedData }
  | {
      readonly type: 'DiscrepancyResolved';
      readonly data: { discrepancy_id: string; resolution: Resolution; note: string; resolved_by: string; resolved_at: string };
    };

export const RUN_EVENT_TYPES: readonly RunEvent['type'][] = [
  'ReconciliationRequested',
  'ReconciliationStarted',
  'DiscrepancyFound',
  'DiscrepancyHealed',
  'ReconciliationCompleted',
  'DiscrepancyResolved',
];

export function discrepancyData(runId: string, d: Discrepancy): DiscrepancyData {
  return {
    discrepancy_id: discrepancyIdFor(runId, d.fingerprint),
    fingerprint: d.fingerprint,
    kind: d.kind,
    payment_id: d.paymentId,
    processor_object: d.object,
    processor_object_id: d.processorObjectId,
    balance_transaction_ids: d.balanceTransactionIds,
    currency: d.currency,
    expected: d.expected,
    actual: d.actual,
    healable: d.heal !== null,
  };
}

export function countsOf(discrepancies: readonly { kind: DiscrepancyKind }[]): Record<DiscrepancyKind, number> {
  const counts = Object.fromEntries(DISCREPANCY_KINDS.map((kind) => [kind, 0])) as Record<DiscrepancyKind, number>;
  for (const d of discrepancies) counts[d.kind] += 1;
  return counts;
}

export function totalsData(result: MatchResult): TotalsData[] {
  return result.totals.map((t) => ({ currency: t.currency, ledger_net: t.ledgerNet, processor_net: t.processorNet, drift: t.drift }));
}

// ---- the run as read: one fold shared by the read model, the resolve endpoint and the CLI ----

export type DiscrepancyStatus = 'open' | 'healed' | 'resolved';

export interface DiscrepancyView extends DiscrepancyData {
  readonly status: DiscrepancyStatus;
  readonly resolution: { resolution: Resolution; note: string; resolved_by: string; resolved_at: string } | null;
  readonly healed_facts: readonly string[];
}

export interface RunView {
  readonly id: string;
  readonly object: 'reconciliation_run';
  readonly status: 'requested' | 'running' | 'completed';
  readonly from: string;
  readonly to: string;
  readonly trigger: RunTrigger | null;
  readonly requested_at: string | null;
  readonly started_at: string | null;
  readonly completed_at: string | null;
  readonly summary: Omit<CompletedData, 'run_id' | 'completed_at' | 'unresolved' | 'healed'> | null;
  /** Counted from the discrepancies' current status: a resolution lowers it after completion. */
  readonly healed: number;
  readonly unresolved: number;
  readonly discrepancies: readonly DiscrepancyView[];
  readonly revision: number;
}

type RunBase = Omit<RunView, 'healed' | 'unresolved'>;

/** Folds a run stream; null when the stream holds no run. */
export function foldRun(events: readonly Pick<RecordedEvent, 'type' | 'data' | 'revision'>[]): RunView | null {
  let run: RunBase | null = null;
  const discrepancies = new Map<string, DiscrepancyView>();
  for (const recorded of events) {
    const event = recorded as unknown as RunEvent;
    switch (event.type) {
      case 'ReconciliationRequested':
        run = base(event.data.run_id, event.data.from, event.data.to, recorded.revision, {
          trigger: event.data.trigger,
          requested_at: event.data.requested_at,
        });
        break;
      case 'ReconciliationStarted':
      {
        const before: RunBase = (run as RunBase | null) ?? base(event.data.run_id, event.data.from, event.data.to, recorded.revision, {});
        run = { ...before, status: 'running', started_at: event.data.started_at };
      }
        break;
      case 'DiscrepancyFound':
        discrepancies.set(event.data.discrepancy_id, { ...event.data, status: 'open', resolution: null, healed_facts: [] });
        break;
      case 'DiscrepancyHealed': {
        const found = discrepancies.get(event.data.discrepancy_id);
        if (found) discrepancies.set(found.discrepancy_id, { ...found, status: 'healed', healed_facts: event.data.facts });
        break;
      }
      case 'DiscrepancyResolved': {
        const found = discrepancies.get(event.data.discrepancy_id);
        if (found) {
          const { discrepancy_id: _, ...resolution } = event.data;
          discrepancies.set(found.discrepancy_id, { ...found, status: 'resolved', resolution });
        }
        break;
      }
      case 'ReconciliationCompleted': {
        const current = run as RunBase | null;
        if (!current) break;
        const { run_id: _id, completed_at, unresolved: _u, healed: _h, ...summary } = event.data;
        run = { ...current, status: 'completed', completed_at, summary };
        break;
      }
      default:
        break;
    }
    const latest = run as RunBase | null;
    if (latest) run = { ...latest, revision: recorded.revision };
  }
  if (!run) return null;
  const list = [...discrepancies.values()];
  return {
    ...run,
    discrepancies: list,
    healed: list.filter((d) => d.status === 'healed').length,
    unresolved: list.filter((d) => d.status === 'open').length,
  };
}

function base(id: string, from: string, to: string, revision: number, extra: Partial<RunView>): RunBase {
  return {
    id,
    object: 'reconciliation_run',
    status: 'requested',
    from,
    to,
    trigger: null,
    requested_at: null,
    started_at: null,
    completed_at: null,
    summary: null,
    discrepancies: [],
    revision,
    ...extra,
  };
}
