import type { RecordedEvent } from '../ports/event-store';
import { STRIPE_EVENT_RECEIVED, STRIPE_EVENT_STREAM_PREFIX } from '../commands/stripe-event-stream';
import type { Projection, ProjectionTx } from '../projections/projection';
import type { SagaJob } from './jobs';
import { jobId } from './jobs';

const PAYMENT_PREFIX = 'payment-';

/**
 * The process manager's decision, pure: which job an event asks for. Outcomes need no rule here:
 * a job that completes removes its own row (see worker.ts), whatever Stripe answered.
 */
export function jobForEvent(event: RecordedEvent): SagaJob | null {
  if (event.streamId.startsWith(STRIPE_EVENT_STREAM_PREFIX)) {
    return event.type === STRIPE_EVENT_RECEIVED ? { name: 'webhook', stripeEventId: event.streamId.slice(STRIPE_EVENT_STREAM_PREFIX.length) } : null;
  }
  const paymentId = event.streamId.slice(PAYMENT_PREFIX.length);
  switch (event.type) {
    case 'PaymentRequested':
      return { name: 'authorize', paymentId };
    case 'PaymentCaptureRequested':
      return { name: 'capture', paymentId, captureId: String(event.data.capture_id) };
    case 'PaymentCancelRequested':
      return { name: 'cancel', paymentId };
    case 'RefundRequested':
      return { name: 'refund', paymentId, refundId: String(event.data.refund_id) };
    default:
      return null;
  }
}

async function openWork(event: RecordedEvent, tx: ProjectionTx): Promise<void> {
  const job = jobForEvent(event);
  if (!job) return;
  await tx.query(
    `insert into ${tx.table('saga_work')} (job_id, name, job, payment_id, opened_at) values ($1, $2, $3, $4, $5) on conflict (job_id) do nothing`,
    [jobId(job), job.name, JSON.stringify(job), 'paymentId' in job ? job.paymentId : null, event.recordedAt],
  );
}

/** Two subscriptions, one per stream family, both feeding saga_work. They are never rebuilt. */
export const sagaPaymentsProjection: Projection = {
  name: 'saga-payments',
  tables: ['saga_work'],
  streamPrefix: PAYMENT_PREFIX,
  apply: openWork,
};

export const sagaWebhooksProjection: Projection = {
  name: 'saga-webhooks',
  tables: ['saga_work'],
  streamPrefix: STRIPE_EVENT_STREAM_PREFIX,
  apply: openWork,
};
