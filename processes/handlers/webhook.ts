import Stripe from 'stripe';
import type { ProcessorFact } from '../../domain/payment.commands';
import { loadPayment } from '../../commands/payment-stream';
import { factFromRefund, factsFromPaymentIntent } from '../stripe-facts';
import { recordFacts } from '../record-facts';
import type { SagaJob } from '../jobs';
import { jobId } from '../jobs';
import type { HandlerDependencies, HandlerResult } from './context';
import { factMetadata, settled } from './context';
import { STRIPE_EVENT_PROCESSED, stripeEventStreamId } from '../../commands/stripe-event-stream';

const EXPAND = ['latest_charge.balance_transaction'];

/**
 * Turns a stored Stripe event into payment facts. Webhooks come late, twice and out of order, so
 * the event only says *which* intent changed: its current state is fetched from Stripe and
 * translated whole, and the decider drops what the stream already holds.
 */
export async function webhook(deps: HandlerDependencies, job: Extract<SagaJob, { name: 'webhook' }>): Promise<HandlerResult> {
  const streamId = stripeEventStreamId(job.stripeEventId);
  const stored = await deps.store.read(streamId);
  const received = stored[0];
  if (!received) throw new Error(`webhook job for unknown Stripe event ${job.stripeEventId}`);
  if (stored.some((event) => event.type === STRIPE_EVENT_PROCESSED)) return 'already_recorded';
  const event = received.data as unknown as Stripe.Event;

  const intentId = paymentIntentIdOf(event);
  let result: HandlerResult = 'nothing_to_do';
  if (intentId) {
    const intent = await deps.gateway
      .call('payment_intents.retrieve', (stripe) => stripe.paymentIntents.retrieve(intentId, { expand: EXPAND }))
      .catch((error: unknown) => {
        // An event about an intent this Stripe account does not know is not ours to act on.
        if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing') return null;
        throw error;
      });
    const paymentId = intent?.metadata?.payment_id;
    if (intent && paymentId) {
      const loaded = await loadPayment(deps.store, paymentId);
      const { state } = loaded;
      if (state.status !== 'initial') {
        const facts: ProcessorFact[] = factsFromPaymentIntent(intent, state);
        if (intent.status === 'succeeded') {
          // Refunds made anywhere, the Stripe dashboard included, are facts about this payment.
          const refunds = await deps.gateway.call('refunds.list', (stripe) => stripe.refunds.list({ payment_intent: intent.id, limit: 100 }));
          for (const refund of [...refunds.data].reverse()) {
            const fact = factFromRefund(refund);
            if (fact) facts.push(fact);
          }
        }
        const recorded = await recordFacts(deps.store, paymentId, facts, {
          ...factMetadata(job, String(received.metadata.correlation_id)),
          stripe_event_id: job.stripeEventId,
        }, loaded);
        result = settled(deps, job, paymentId, String(received.metadata.correlation_id), recorded);
      }
    }
  }
  await deps.store.append(
    streamId,
    [{ type: STRIPE_EVENT_PROCESSED, data: { result }, metadata: { ...factMetadata(job, String(received.metadata.correlation_id)), causation_id: jobId(job) } }],
    received.revision,
  ).catch((error: unknown) => {
    // Another worker finished the same event first; its marker stands.
    if ((error as Error).name !== 'StreamConflictError') throw error;
  });
  return result;
}

function paymentIntentIdOf(event: Stripe.Event): string | null {
  const object = event.data.object as unknown as Record<string, unknown>;
  if (event.type.startsWith('payment_intent.')) return typeof object.id === 'string' ? object.id : null;
  const intent = object.payment_intent;
  if (typeof intent === 'string') return intent;
  if (intent && typeof intent === 'object' && typeof (intent as { id?: unknown }).id === 'string') return (intent as { id: string }).id;
  return null;
}
