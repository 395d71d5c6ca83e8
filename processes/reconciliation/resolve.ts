import type { EventStore } from '../../ports/event-store';
import { withEventIds } from '../../commands/ids';
import { withConflictRetry } from '../../commands/payment-stream';
import type { Resolution, RunView } from './run-events';
import { foldRun, runStreamId } from './run-events';

export interface ResolveRequest {
  readonly runId: string;
  readonly discrepancyId: string;
  readonly resolution: Resolution;
  readonly note: string;
  readonly actor: string;
  readonly correlationId: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly now: Date;
}

export type ResolveOutcome =
  | { readonly kind: 'resolved'; readonly run: RunView; readonly replayed: boolean }
  | { readonly kind: 'discrepancy_not_found' }
  | { readonly kind: 'idempotency_key_reused' }
  /** Healed by reconciliation itself, or resolved before under another key. */
  | { readonly kind: 'discrepancy_not_open'; readonly status: string };

/**
 * A person's decision about a discrepancy, kept as DiscrepancyResolved in the run's stream. The
 * Idempotency-Key lives in the event's metadata, as for payments: the same key and body replays,
 * the same key with another body is refused.
 */
export async function resolveDiscrepancy(store: EventStore, request: ResolveRequest): Promise<ResolveOutcome> {
  const streamId = runStreamId(request.runId);
  return withConflictRetry(async () => {
    const events = await store.read(streamId);
    const run = foldRun(events);
    const discrepancy = run?.discrepancies.find((d) => d.discrepancy_id === request.discrepancyId);
    if (!run || !discrepancy) return { kind: 'discrepancy_not_found' };
    const earlier = events.find(
      (e) => e.type === 'DiscrepancyResolved' && e.metadata.idempotency_key === request.idempotencyKey && e.data.discrepancy_id === request.discrepancyId,
    );
    if (earlier) {
      return earlier.metadata.request_hash === request.requestHash ? { kind: 'resolved', run, replayed: true } : { kind: 'idempotency_key_reused' };
    }
    if (discrepancy.status !== 'open') return { kind: 'discrepancy_not_open', status: discrepancy.status };
    const revision = events[events.length - 1]!.revision;
    await store.append(
      streamId,
      withEventIds(streamId, revision + 1, [
        {
          type: 'DiscrepancyResolved',
          data: {
            discrepancy_id: request.discrepancyId,
            resolution: request.resolution,
            note: request.note,
            resolved_by: request.actor,
            resolved_at: request.now.toISOString(),
          },
          metadata: {
            correlation_id: request.correlationId,
            causation_id: request.correlationId,
            actor: request.actor,
            source: 'api',
            idempotency_key: request.idempotencyKey,
            request_hash: request.requestHash,
            command: 'ResolveDiscrepancy',
          },
        },
      ]),
      revision,
    );
    return { kind: 'resolved', run: foldRun(await store.read(streamId))!, replayed: false };
  });
}
