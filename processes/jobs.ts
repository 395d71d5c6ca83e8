/**
 * The saga's jobs. Job ids are deterministic (`verb-<id>`; BullMQ forbids ':' in custom ids), so
 * enqueueing the same work twice is a no-op; the Stripe Idempotency-Key is `verb:<id>`, so a
 * retried call, even from another worker after a crash, cannot charge twice.
 */
export type SagaJob =
  | { readonly name: 'authorize'; readonly paymentId: string }
  | { readonly name: 'capture'; readonly paymentId: string; readonly captureId: string }
  | { readonly name: 'cancel'; readonly paymentId: string }
  | { readonly name: 'refund'; readonly paymentId: string; readonly refundId: string }
  | { readonly name: 'webhook'; readonly stripeEventId: string };

export type SagaJobName = SagaJob['name'];

export const SAGA_QUEUE = 'payment-saga';

function subject(job: SagaJob): string {
  switch (job.name) {
    case 'authorize':
    case 'cancel':
      return job.paymentId;
    case 'capture':
      return job.captureId;
    case 'refund':
      return job.refundId;
    case 'webhook':
      return job.stripeEventId;
    default: {
      const unreachable: never = job;
      throw new Error(`unknown job ${JSON.stringify(unreachable)}`);
    }
  }
}

export function jobId(job: SagaJob): string {
  return `${job.name}-${subject(job)}`;
}

export function stripeIdempotencyKey(job: SagaJob): string {
  return `${job.name}:${subject(job)}`;
}
