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

/**
 * Creates and confirms the PaymentIntent. On a retry the intent may already exist (the first reply
 * was lost), so a retry looks it up by `metadata.payment_id` before creating; the deterministic
 * Idempotency-Key covers the window in which the search index has not caught up.
 */
export async function authorize(deps: HandlerDependencies, job: Extract<SagaJob, { name: 'authorize' }>, retry: boolean): Promise<HandlerResult> {
  const loaded = await loadPayment(deps.store, job.paymentId);
  const { state, events } = loaded;
  if (state.status === 'initial') throw new Error(`authorize job for unknown payment ${job.paymentId}`);
  if (state.status !== 'requested') return 'already_recorded';
  const correlationId = String(events[0]?.metadata.correlation_id ?? job.paymentId);

  let facts: ProcessorFact[];
  try {
    const existing = retry ? await findIntent(deps, job.paymentId) : null;
    const intent =
      existing ??
      (await deps.gateway.call('payment_intents.create', (stripe) =>
        stripe.paymentIntents.create(
          {
            amount: state.amount,
            currency: state.currency,
            payment_method: state.paymentMethod,
            confirm: true,
            capture_method: state.captureMethod,
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
            metadata: { payment_id: state.paymentId, merchant_id: state.merchantId },
            ...(state.description ? { description: state.description } : {}),
            expand: EXPAND,
          },
          { idempotencyKey: stripeIdempotencyKey(job) },
        ),
      ));
    facts = factsFromPaymentIntent(intent, state);
    if (intent.status === 'requires_action') await releaseIntent(deps, intent.id, job.paymentId);
  } catch (error) {
    const declined = definitiveFailure(error);
    if (!declined) throw error;
    facts = [declined];
  }
  const recorded = await recordFacts(deps.store, job.paymentId, facts, factMetadata(job, correlationId), loaded);
  return settled(deps, job, job.paymentId, correlationId, recorded);
}

async function findIntent(deps: HandlerDependencies, paymentId: string): Promise<Stripe.PaymentIntent | null> {
  const found = await deps.gateway.call('payment_intents.search', (stripe) =>
    stripe.paymentIntents.search({ query: `metadata['payment_id']:'${paymentId}'`, limit: 10 }),
  );
  const intent = found.data[0];
  if (!intent) return null;
  return deps.gateway.call('payment_intents.retrieve', (stripe) => stripe.paymentIntents.retrieve(intent.id, { expand: EXPAND }));
}

/** A 3-D Secure intent cannot be completed here; cancel it so the hold is not left on the card. */
async function releaseIntent(deps: HandlerDependencies, intentId: string, paymentId: string): Promise<void> {
  await deps.gateway
    .call('payment_intents.cancel', (stripe) =>
      stripe.paymentIntents.cancel(intentId, { cancellation_reason: 'abandoned' }, { idempotencyKey: `release:${paymentId}` }),
    )
    .catch((error: unknown) => deps.log('warn', 'could not release a requires_action intent', { paymentId, error: String(error) }));
}

/**
 * A decline (402) or a request Stripe refused (400: an unknown payment method, say) is a definitive
 * answer that no money moved. Anything else is an unknown outcome and returns null: retry.
 */
function definitiveFailure(error: unknown): ProcessorFact | null {
  if (error instanceof Stripe.errors.StripeCardError || (error instanceof Stripe.errors.StripeInvalidRequestError && !(error instanceof Stripe.errors.StripeIdempotencyError))) {
    return {
      type: 'RecordFailure',
      stage: 'authorization',
      code: error.code ?? (error instanceof Stripe.errors.StripeCardError ? 'card_declined' : 'invalid_request'),
      declineCode: error.decline_code ?? null,
      message: error.message,
      failedAt: new Date().toISOString(),
    };
  }
  return null;
}
