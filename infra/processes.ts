import type { Pool } from 'pg';
import type { EventStore } from '../ports/event-store';
import { startProjectionRunner } from '../projections/runner';
import { SAGA_QUEUE } from '../processes/jobs';
import type { SagaJob } from '../processes/jobs';
import { sagaPaymentsProjection, sagaWebhooksProjection } from '../processes/saga-work';
import { dispatchNewWork } from '../processes/dispatcher';
import { sweepStuckWork } from '../processes/janitor';
import type { JanitorReport } from '../processes/janitor';
import { every } from '../processes/loop';
import { DEFAULT_RETRY, startSagaWorker } from '../processes/worker';
import type { RetryPolicy } from '../processes/worker';
import { createStripeGateway, DEFAULT_BREAKER } from '../processes/stripe-gateway';
import type { BreakerSettings, StripeGateway } from '../processes/stripe-gateway';
import type { HandlerResult } from '../processes/handlers/context';
import { createQueueKit } from './queue/bullmq';
import { createStripeClient } from './stripe/client';
import type { StripeClientOptions } from './stripe/client';
import { startReconciliationProcesses } from './reconciliation';
import type { RunningReconciliation } from './reconciliation';

export interface ProcessesOptions {
  readonly pool: Pool;
  readonly databaseUrl: string;
  readonly store: EventStore;
  readonly redisUrl?: string | undefined;
  readonly stripe: StripeClientOptions;
  readonly queueName?: string;
  readonly concurrency?: number;
  readonly retry?: RetryPolicy;
  readonly breaker?: BreakerSettings;
  readonly breakerPauseMs?: number;
  readonly stuckAfterMs?: number;
  readonly janitorEveryMs?: number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, meta?: Record<string, unknown>) => void;
  readonly onResult?: (job: SagaJob, result: HandlerResult | 'retry' | 'waiting') => void;
  readonly onJanitor?: (report: JanitorReport) => void;
  /** Reconciliation's worker, read model and daily job (cron in UTC; null: no schedule); absent: not run here. */
  readonly reconciliation?: { readonly cron: string | null; readonly queueName?: string };
  readonly onReconciliationRun?: (discrepancies: readonly { readonly kind: string }[]) => void;
}

export interface RunningProcesses {
  readonly gateway: StripeGateway;
  readonly backend: 'postgres' | 'redis';
  /** Runs one janitor pass now (tests, and `ledger` operators). */
  sweep(): Promise<JanitorReport>;
  /** Jobs in the saga queue by BullMQ state, for the backlog metrics. */
  jobCounts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * The processes role: the saga subscriptions that turn events into open work, the dispatcher that
 * moves open work into BullMQ, the workers that call Stripe, and the janitor.
 */
export async function startProcesses(options: ProcessesOptions): Promise<RunningProcesses> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const kit = createQueueKit({
    redisUrl: options.redisUrl,
    databaseUrl: options.databaseUrl,
    onError: (error) => options.log('error', 'queue connection error', { error: String(error) }),
  });
  const queueName = options.queueName ?? SAGA_QUEUE;
  const queue = kit.queue<SagaJob>(queueName);
  const gateway = createStripeGateway(createStripeClient(options.stripe), options.breaker ?? DEFAULT_BREAKER);
  const onError = (what: string) => (error: unknown) => options.log('error', what, { error: String(error) });

  const dispatcher = every(250, () => dispatchNewWork(options.pool, queue, retry), onError('saga dispatch failed'));
  const runners = [sagaPaymentsProjection, sagaWebhooksProjection].map((projection) =>
    startProjectionRunner(options.pool, options.store, projection, { pollMs: 50, onBatch: () => dispatcher.wake(), onError: onError(`${projection.name} failed`) }),
  );
  const sweep = async () => {
    const report = await sweepStuckWork(options.pool, queue, retry, options.stuckAfterMs ?? 60_000);
    options.onJanitor?.(report);
    return report;
  };
  const janitor = every(options.janitorEveryMs ?? 15_000, sweep, onError('janitor failed'));
  const worker = startSagaWorker({
    kit,
    queueName,
    pool: options.pool,
    deps: { store: options.store, gateway, log: options.log },
    concurrency: options.concurrency ?? 16,
    retry,
    breakerPauseMs: options.breakerPauseMs ?? 1_000,
    ...(options.onResult ? { onResult: options.onResult } : {}),
  });
  const reconciliation: RunningReconciliation | null = options.reconciliation
    ? await startReconciliationProcesses({
        kit,
        pool: options.pool,
        store: options.store,
        gateway,
        cron: options.reconciliation.cron,
        ...(options.onReconciliationRun ? { onRunCompleted: options.onReconciliationRun } : {}),
        ...(options.reconciliation.queueName ? { queueName: options.reconciliation.queueName } : {}),
        log: options.log,
      })
    : null;
  // Every queue and worker connects now (the role fails to start if it cannot); workers start here.
  await kit.ready();

  return {
    gateway,
    backend: kit.backend,
    sweep,
    jobCounts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
    async stop() {
      await janitor.stop();
      await reconciliation?.stop();
      await Promise.all(runners.map((runner) => runner.stop()));
      await dispatcher.stop();
      await worker.close();
      await kit.close();
      gateway.shutdown();
    },
  };
}
