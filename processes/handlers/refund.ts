import Stripe from 'stripe';
import type { ProcessorFact } from '../../domain/payment.commands';
import { loadPayment } from '../../commands/payment-stream';
import { factFromRefund } from '../stripe-facts';
import { recordFacts } from '../record-facts';
import type { SagaJob } from '../jobs';
import { stripeIdempotencyKey } from '../jobs';
import type { HandlerDependencies, HandlerResult } from './context';
import { NotReadyError, factMetadata, settled } from './context';

/** Refunds part or all of the captured amount; the ledger's refund id travels in the metadata. */
export async function refund(deps: HandlerDependencies, job: Extract<SagaJob, { name: 'refund' }>): Promise<HandlerResult> {
  const loaded = await loadPayment(deps.store, job.paymentId);
  const { state, events } = loaded;
  if (state.status === 'initial') throw new Error(`refund job for unknown payment ${job.paymentId}`);
  const requested = state.refunds.find((candidate) => candidate.refundId === job.refundId);
  if (!requested || requested.status !== 'pending' || !state.processorPaymentId) return 'already_recorded';
  const intentId = state.processorPaymentId;
  const correlationId = String(
    events.find((event) => event.type === 'RefundRequested' && event.data.refund_id === job.refundId)?.metadata.correlation_id ?? job.paymentId,
  );

  let fact: ProcessorFact | null;
  try {
    const created = await deps.gateway.call('refunds.create', (stripe) =>
      stripe.refunds.create(
        {
          payment_intent: intentId,
          amount: requested.amount,
          ...(requested.reason ? { reason: requested.reason as Stripe.RefundCreateParams.Reason } : {}),
          metadata: { payment_id: job.paymentId, refund_id: job.refundId },
        },
        { idempotencyKey: stripeIdempotencyKey(job) },
      ),
    );
    fact = factFromRefund(created);
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
    fact = { type: 'RecordRefundFailure', refundId: job.refundId, code: error.code ?? 'invalid_request', message: error.message, failedAt: new Date().toISOString() };
  }
  // A pending refund settles later; its webhook (or this job's next attempt) records the outcome.
  if (!fact) throw new NotReadyError(`refund ${job.refundId} is still pending at Stripe`);
  const recorded = await recordFacts(deps.store, job.paymentId, [fact], factMetadata(job, correlationId), loaded);
  return settled(deps, job, job.paymentId, correlationId, recorded);
}
