import type { Job } from 'bullmq';
import type { Pool } from 'pg';
import type { EventStore } from '../ports/event-store';
import type { StripeGateway } from '../processes/stripe-gateway';
import type { ReconciliationProgress, ReconciliationWindow, RunTrigger } from '../processes/reconciliation';
import { executeRun, scheduledRunId } from '../processes/reconciliation';
import { reconciliationProjection } from '../projections/reconciliation.projection';
import { startProjectionRunner } from '../projections/runner';
import { every } from '../processes/loop';
import type { QueueKit } from './queue/bullmq';

export const RECONCILIATION_QUEUE = 'reconciliation';
export const DEFAULT_RECONCILIATION_CRON = '15 0 * * *';
const SCHEDULER_ID = 'daily-reconciliation';

/** A run to execute; `scheduled` jobs carry no window, it comes from the time they were due. */
export type ReconciliationJob =
  | { readonly kind: 'run'; readonly runId: string; readonly from: string; readonly to: string; readonly trigger: RunTrigger }
  | { readonly kind: 'scheduled' };

export interface ReconciliationProcessesOptions {
  readonly kit: QueueKit;
  readonly pool: Pool;
  readonly store: EventStore;
  readonly gateway: StripeGateway;
  /** Cron pattern (UTC) of the daily run over the previous UTC day; null: no schedule. */
  readonly cron: string | null;
  readonly queueName?: string;
  readonly dispatchEveryMs?: number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, meta?: Record<string, unknown>) => void;
  readonly onProgress?: (progress: ReconciliationProgress) => void;
  /** Called with the discrepancies of every run this process completes (metrics). */
  readonly onRunCompleted?: (discrepancies: readonly { readonly kind: string }[]) => void;
}

export interface RunningReconciliation {
  /** Looks for requested runs now (tests). */
  dispatch(): Promise<number>;
  stop(): Promise<void>;
}

/** The previous whole UTC day before `at`. */
export function previousUtcDay(at: Date): ReconciliationWindow {
  const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const from = new Date(to.getTime() - 86_400_000);
  return { from: from.toISOString(), to: to.toISOString() };
}

/**
 * Reconciliation in the processes role: a BullMQ worker that executes runs, the daily repeatable job,
 * and a dispatcher that turns runs requested over HTTP (ReconciliationRequested, seen through the
 * reconciliation read model) into jobs with deterministic ids, so a run is queued once however often
 * it is seen. A run is safe to execute twice (see executeRun), so a redelivered job does no harm.
 */
export async function startReconciliationProcesses(options: ReconciliationProcessesOptions): Promise<RunningReconciliation> {
  const queueName = options.queueName ?? RECONCILIATION_QUEUE;
  const queue = options.kit.queue<ReconciliationJob>(queueName);
  const execute = async (job: Job<ReconciliationJob>) => {
    const data = job.data;
    const request =
      data.kind === 'scheduled'
        ? scheduledRequest(new Date(job.timestamp + (job.opts.delay ?? 0)))
        : { runId: data.runId, window: { from: data.from, to: data.to }, trigger: data.trigger };
    const run = await executeRun(
      { store: options.store, gateway: options.gateway, clock: () => new Date(), ...(options.onProgress ? { onProgress: options.onProgress } : {}) },
      { ...request, actor: 'reconciliation' },
    );
    options.log(run.unresolved > 0 ? 'warn' : 'info', 'reconciliation run completed', {
      run_id: run.id,
      from: run.from,
      to: run.to,
      discrepancies: run.discrepancies.length,
      unresolved: run.unresolved,
    });
    options.onRunCompleted?.(run.discrepancies);
  };
  const worker = options.kit.worker<ReconciliationJob>(queueName, execute, { concurrency: 1 });
  worker.on('failed', (job, error) => options.log('error', 'reconciliation job failed', { job: job?.id, error: String(error) }));
  // Without a listener a worker whose connection fails (Postgres stopped) retries at once and
  // forever, flooding the log and starving the event loop.
  worker.on('error', (error) => options.log('error', 'reconciliation worker error', { error: String(error) }));

  if (options.cron) {
    await queue.upsertJobScheduler(SCHEDULER_ID, { pattern: options.cron, tz: 'UTC' }, { name: 'scheduled', data: { kind: 'scheduled' } });
  } else {
    await queue.removeJobScheduler(SCHEDULER_ID).catch(() => undefined);
  }

  const dispatch = async (): Promise<number> => {
    const { rows } = await options.pool.query<{ run_id: string; from: Date; to: Date; trigger: RunTrigger }>(
      `select run_id, window_from as "from", window_to as "to", trigger from reconciliation_runs where status = 'requested' order by requested_at limit 100`,
    );
    for (const row of rows) {
      const data: ReconciliationJob = { kind: 'run', runId: row.run_id, from: row.from.toISOString(), to: row.to.toISOString(), trigger: row.trigger };
      await queue.add('run', data, { jobId: `reconcile-${row.run_id}`, attempts: 5, backoff: { type: 'exponential', delay: 1000 } });
    }
    return rows.length;
  };
  const dispatcher = every(options.dispatchEveryMs ?? 1000, dispatch, (error) =>
    options.log('error', 'reconciliation dispatch failed', { error: String(error) }),
  );
  // The read model the dispatcher reads (and the write API's resolve endpoint) is kept here.
  const projection = startProjectionRunner(options.pool, options.store, reconciliationProjection, {
    pollMs: 250,
    onBatch: () => dispatcher.wake(),
    onError: (error) => options.log('error', 'reconciliation projection failed', { error: String(error) }),
  });

  return {
    dispatch,
    async stop() {
      await projection.stop();
      await dispatcher.stop();
      await worker.close();
    },
  };
}

function scheduledRequest(due: Date): { runId: string; window: ReconciliationWindow; trigger: RunTrigger } {
  const window = previousUtcDay(due);
  return { runId: scheduledRunId(window), window, trigger: 'schedule' };
}
