import type { EventMetadata, EventStore } from '../../ports/event-store';
import type { StripeGateway } from '../stripe-gateway';
import type { SagaJob } from '../jobs';
import { jobId } from '../jobs';

export interface HandlerDependencies {
  readonly store: EventStore;
  readonly gateway: StripeGateway;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, meta?: Record<string, unknown>) => void;
}

/** What a handler reports back; the job itself succeeds unless the outcome is still unknown. */
export type HandlerResult = 'recorded' | 'already_recorded' | 'nothing_to_do' | 'contradicted';

/** Thrown when the work cannot happen yet (a cancel waiting for its authorization): retry later. */
export class NotReadyError extends Error {
  override readonly name = 'NotReadyError';
}

/**
 * Names a job's result from what `recordFacts` did, and logs it with the payment id and the
 * correlation id of the request that started the work, so that one payment can be followed from
 * the HTTP request through its jobs.
 */
export function settled(
  deps: HandlerDependencies,
  job: SagaJob,
  paymentId: string,
  correlationId: string,
  recorded: { readonly appended: readonly { readonly type: string }[]; readonly rejected: readonly { readonly fact: string; readonly rejection: string }[] },
): HandlerResult {
  const result: HandlerResult = recorded.rejected.length > 0 ? 'contradicted' : recorded.appended.length > 0 ? 'recorded' : 'already_recorded';
  deps.log(result === 'contradicted' ? 'warn' : 'info', `saga job ${job.name}: ${result}`, {
    job_id: jobId(job),
    payment_id: paymentId,
    correlation_id: correlationId,
    events: recorded.appended.map((event) => event.type),
    ...(recorded.rejected.length > 0 ? { rejected: recorded.rejected.map((r) => `${r.fact}: ${r.rejection}`) } : {}),
  });
  return result;
}

export function factMetadata(job: SagaJob, correlationId: string): EventMetadata {
  return { correlation_id: correlationId, causation_id: jobId(job), actor: 'payment-saga', source: 'stripe' };
}
