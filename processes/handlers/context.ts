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

export function factMetadata(job: SagaJob, correlationId: string): EventMetadata {
  return { correlation_id: correlationId, causation_id: jobId(job), actor: 'payment-saga', source: 'stripe' };
}
