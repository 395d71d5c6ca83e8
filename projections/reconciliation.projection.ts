import type { RecordedEvent } from '../ports/event-store';
import type { Projection, ProjectionTx } from './projection';
import type { RunEvent } from '../processes/reconciliation/run-events';
import { RUN_STREAM_PREFIX } from '../processes/reconciliation/run-events';

/**
 * Runs and discrepancies as rows, folded from the `reconciliation-<runId>` streams. It serves what a
 * stream cannot: finding a discrepancy by its id alone (the resolve endpoint) and listing the open
 * ones across runs. Every statement is an upsert or a guarded update, so applying an event twice
 * changes nothing.
 */
export const reconciliationProjection: Projection = {
  name: 'reconciliation',
  tables: ['reconciliation_runs', 'reconciliation_discrepancies'],
  streamPrefix: RUN_STREAM_PREFIX,
  async apply(recorded: RecordedEvent, tx: ProjectionTx) {
    const event = { type: recorded.type, data: recorded.data } as unknown as RunEvent;
    const runs = tx.table('reconciliation_runs');
    const discrepancies = tx.table('reconciliation_discrepancies');
    switch (event.type) {
      case 'ReconciliationRequested': {
        const d = event.data;
        await tx.query(
          `insert into ${runs} (run_id, status, window_from, window_to, trigger, requested_at) values ($1, 'requested', $2, $3, $4, $5)
           on conflict (run_id) do nothing`,
          [d.run_id, d.from, d.to, d.trigger, d.requested_at],
        );
        return;
      }
      case 'ReconciliationStarted':
        await tx.query(`update ${runs} set status = 'running', started_at = $2 where run_id = $1 and status = 'requested'`, [
          event.data.run_id,
          event.data.started_at,
        ]);
        return;
      case 'DiscrepancyFound': {
        const d = event.data;
        await tx.query(
          `insert into ${discrepancies} (discrepancy_id, run_id, fingerprint, kind, payment_id, status, data) values ($1, $2, $3, $4, $5, 'open', $6)
           on conflict (discrepancy_id) do nothing`,
          [d.discrepancy_id, runIdOf(recorded), d.fingerprint, d.kind, d.payment_id, JSON.stringify(d)],
        );
        return;
      }
      case 'DiscrepancyHealed':
        await tx.query(`update ${discrepancies} set status = 'healed' where discrepancy_id = $1 and status = 'open'`, [event.data.discrepancy_id]);
        return;
      case 'DiscrepancyResolved':
        await tx.query(`update ${discrepancies} set status = 'resolved', resolution = $2 where discrepancy_id = $1 and status = 'open'`, [
          event.data.discrepancy_id,
          event.data.resolution,
        ]);
        return;
      case 'ReconciliationCompleted':
        await tx.query(`update ${runs} set status = 'completed', completed_at = $2, summary = $3 where run_id = $1`, [
          event.data.run_id,
          event.data.completed_at,
          JSON.stringify(event.data),
        ]);
        return;
      default:
        return;
    }
  },
};

function runIdOf(event: RecordedEvent): string {
  return event.streamId.slice(RUN_STREAM_PREFIX.length);
}

/** The run a discrepancy belongs to, from the read model; null when it is unknown (or not projected yet). */
export async function runOfDiscrepancy(
  db: { query: (sql: string, params: unknown[]) => Promise<{ rows: { run_id: string }[] }> },
  discrepancyId: string,
): Promise<string | null> {
  const { rows } = await db.query('select run_id from reconciliation_discrepancies where discrepancy_id = $1', [discrepancyId]);
  return rows[0]?.run_id ?? null;
}
