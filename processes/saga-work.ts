import type { RecordedEvent } from '../ports/event-store';
import { STRIPE_EVENT_RECEIVED, STRIPE_EVENT_STREAM_PREFIX } from '../commands/stripe-event-stream';
import type { BatchFold, Projection, ProjectionTx } from '../projections/projection';
import { batchedProjection } from '../projections/projection';
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

interface OpenedWork {
  readonly job: SagaJob;
  readonly openedAt: Date;
}

function foldWork(opened: OpenedWork[], event: RecordedEvent): void {
  const job = jobForEvent(event);
  if (job) opened.push({ job, openedAt: event.recordedAt });
}

/**
 * Opens a batch's work in one statement. Each batch is one transaction that holds back every
 * subscription's read position while it is open, so it must not last a round trip per event.
 */
async function openWork(opened: readonly OpenedWork[], tx: ProjectionTx): Promise<void> {
  if (opened.length === 0) return;
  await tx.query(
    `insert into ${tx.table('saga_work')} (job_id, name, job, payment_id, opened_at)
     select * from unnest($1::text[], $2::text[], $3::jsonb[], $4::uuid[], $5::timestamptz[])
     on conflict (job_id) do nothing`,
    [
      opened.map(({ job }) => jobId(job)),
      opened.map(({ job }) => job.name),
      opened.map(({ job }) => JSON.stringify(job)),
      opened.map(({ job }) => ('paymentId' in job ? job.paymentId : null)),
      opened.map(({ openedAt }) => openedAt),
    ],
  );
}

const openWorkInBatches: BatchFold<OpenedWork[]> = { load: async () => [], fold: foldWork, write: openWork };

/** Two subscriptions, one per stream family, both feeding saga_work. They are never rebuilt. */
export const sagaPaymentsProjection: Projection = batchedProjection(
  { name: 'saga-payments', tables: ['saga_work'], streamPrefix: PAYMENT_PREFIX },
  openWorkInBatches,
);

export const sagaWebhooksProjection: Projection = batchedProjection(
  { name: 'saga-webhooks', tables: ['saga_work'], streamPrefix: STRIPE_EVENT_STREAM_PREFIX },
  openWorkInBatches,
);
