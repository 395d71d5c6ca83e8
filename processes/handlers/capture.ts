import Stripe from 'stripe';
import type { ProcessorFact } from '../../domain/payment.commands';
import { loadPayment } from '../../commands/payment-stream';
import { factsFromPaymentIntent } from '../stripe-facts';
import { recordFacts } from '../record-facts';
import type { SagaJob } from '../jobs';
import { stripeIdempotencyKey } from '../jobs';
import type { HandlerDependencies, HandlerResult } from './context';
import { factMetadata, settled } from './context';

const EXPAND = ['latest_charge.balance_transaction'];

/** Captures the requested amount; Stripe releases the rest of the authorization. */
export async function capture(deps: HandlerDependencies, job: Extract<SagaJob, { name: 'capture' }>): Promise<HandlerResult> {
  const loaded = await loadPayment(deps.store, job.paymentId);
  const { state, events } = loaded;
  if (state.status === 'initial') throw new Error(`capture job for unknown payment ${job.paymentId}`);
  if (state.status !== 'authorized' || state.capture?.captureId !== job.captureId || !state.processorPaymentId) return 'already_recorded';
  const intentId = state.processorPaymentId;
  const amount = state.capture.amount;
  const correlationId = String(events.find((event) => event.type === 'PaymentCaptureRequested')?.metadata.correlation_id ?? job.paymentId);

  let facts: ProcessorFact[];
  try {
    const intent = await deps.gateway.call('payment_intents.capture', (stripe) =>
      stripe.paymentIntents.capture(intentId, { amount_to_capture: amount, expand: EXPAND }, { idempotencyKey: stripeIdempotencyKey(job) }),
    );
    facts = factsFromPaymentIntent(intent, state);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeCardError) {
      facts = [{ type: 'RecordFailure', stage: 'capture', code: error.code ?? 'card_declined', declineCode: error.decline_code ?? null, message: error.message, failedAt: new Date().toISOString() }];
    } else if (error instanceof Stripe.errors.StripeInvalidRequestError) {
      // Most often the intent moved on without us (captured by an earlier lost reply, canceled or
      // expired): its current state is the answer.
      const intent = await deps.gateway.call('payment_intents.retrieve', (stripe) => stripe.paymentIntents.retrieve(intentId, { expand: EXPAND }));
      facts = factsFromPaymentIntent(intent, state);
      if (facts.length === 0 || intent.status === 'requires_capture') throw error;
    } else {
      throw error;
    }
  }
  const recorded = await recordFacts(deps.store, job.paymentId, facts, factMetadata(job, correlationId), loaded);
  return settled(deps, job, job.paymentId, correlationId, recorded);
}
