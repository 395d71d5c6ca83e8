import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Pool } from 'pg';
import type { QueueKit } from '../infra/queue/bullmq';
import type { SagaJob } from './jobs';
import { StripeUnavailableError } from './stripe-gateway';
import type { HandlerDependencies, HandlerResult } from './handlers/context';
import { NotReadyError } from './handlers/context';
import { authorize } from './handlers/authorize';
import { capture } from './handlers/capture';
import { cancel } from './handlers/cancel';
import { refund } from './handlers/refund';
import { webhook } from './handlers/webhook';

export interface RetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** After these, the job is failed and the janitor takes the work over. */
  readonly attempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 200, maxDelayMs: 30_000, attempts: 25 };

/** Exponential backoff with full jitter, so that retries after an outage do not arrive in step. */
export function backoffDelay(policy: RetryPolicy, attemptsMade: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function runHandler(deps: HandlerDependencies, job: SagaJob, retry: boolean): Promise<HandlerResult> {
  switch (job.name) {
    case 'authorize':
      return authorize(deps, job, retry);
    case 'capture':
      return capture(deps, job);
    case 'cancel':
      return cancel(deps, job);
    case 'refund':
      return refund(deps, job);
    case 'webhook':
      return webhook(deps, job);
    default: {
      const unreachable: never = job;
      throw new Error(`unknown job ${JSON.stringify(unreachable)}`);
    }
  }
}

export interface SagaWorkerOptions {
  readonly kit: QueueKit;
  readonly queueName: string;
  readonly pool: Pool;
  readonly deps: HandlerDependencies;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  /** How long the whole worker pauses while the Stripe breaker is open. */
  readonly breakerPauseMs: number;
  readonly onResult?: (job: SagaJob, result: HandlerResult | 'retry' | 'waiting') => void;
}

/**
 * Runs the saga's jobs. A job that finishes, whatever Stripe answered, closes its work row; one
 * that throws is retried with the same Stripe idempotency key. While the breaker is open, the job
 * goes back to the queue without spending an attempt and the worker pauses.
 */
export function startSagaWorker(options: SagaWorkerOptions): Worker<SagaJob> {
  const { kit, pool, deps } = options;
  const worker: Worker<SagaJob> = kit.worker<SagaJob>(
    options.queueName,
    async (job: Job<SagaJob>) => {
      try {
        const result = await runHandler(deps, job.data, job.attemptsMade > 0);
        await pool.query('delete from saga_work where job_id = $1', [job.id]);
        options.onResult?.(job.data, result);
        return result;
      } catch (error) {
        if (error instanceof StripeUnavailableError) {
          options.onResult?.(job.data, 'waiting');
          await worker.rateLimit(options.breakerPauseMs);
          throw Worker.RateLimitError();
        }
        options.onResult?.(job.data, 'retry');
        if (!(error instanceof NotReadyError)) {
          deps.log('warn', 'saga job failed; it will be retried', { job: job.id, attempt: job.attemptsMade + 1, error: String(error) });
        }
        throw error;
      }
    },
    {
      concurrency: options.concurrency,
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(options.retry, attemptsMade) },
    },
  );
  worker.on('error', (error) => deps.log('error', 'saga worker error', { error: String(error) }));
  return worker;
}
