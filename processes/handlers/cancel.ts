import Stripe from 'stripe';
import { loadPayment } from '../../commands/payment-stream';
import { factsFromPaymentIntent } from '../stripe-facts';
import { recordFacts } from '../record-facts';
import type { SagaJob } from '../jobs';
import { stripeIdempotencyKey } from '../jobs';
import type { HandlerDependencies, HandlerResult } from './context';
import { NotReadyError, factMetadata, settled } from './context';

const STRIPE_REASONS = new Set(['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']);

/**
 * Cancels the authorization. A cancel asked for before the authorization is known waits for it:
 * an authorize call with an unknown outcome may still have created an intent, and only once the
 * outcome is recorded do we know whether there is a hold to release.
 */
export async function cancel(deps: HandlerDependencies, job: Extract<SagaJob, { name: 'cancel' }>): Promise<HandlerResult> {
  const loaded = await loadPayment(deps.store, job.paymentId);
  const { state, events } = loaded;
  if (state.status === 'initial') throw new Error(`cancel job for unknown payment ${job.paymentId}`);
  if (state.status === 'requested') throw new NotReadyError(`payment ${job.paymentId} is not authorized yet`);
  if (state.status !== 'authorized' || state.capture || !state.processorPaymentId) return 'nothing_to_do';
  const intentId = state.processorPaymentId;
  const reason = state.cancelRequested ?? 'requested_by_customer';
  const correlationId = String(events.find((event) => event.type === 'PaymentCancelRequested')?.metadata.correlation_id ?? job.paymentId);

  let intent: Stripe.PaymentIntent;
  try {
    intent = await deps.gateway.call('payment_intents.cancel', (stripe) =>
      stripe.paymentIntents.cancel(
        intentId,
        STRIPE_REASONS.has(reason) ? { cancellation_reason: reason as Stripe.PaymentIntentCancelParams.CancellationReason } : {},
        { idempotencyKey: stripeIdempotencyKey(job) },
      ),
    );
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
    intent = await deps.gateway.call('payment_intents.retrieve', (stripe) => stripe.paymentIntents.retrieve(intentId));
  }
  const recorded = await recordFacts(deps.store, job.paymentId, factsFromPaymentIntent(intent, state), factMetadata(job, correlationId), loaded);
  return settled(deps, job, job.paymentId, correlationId, recorded);
}
