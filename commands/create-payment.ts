import { z } from 'zod';
import type { AppendResult, EventStore } from '../ports/event-store';
import { StreamConflictError } from '../ports/event-store';
import { amountProblem, isSupportedCurrency } from '../domain/money';
import type { RequestPayment } from '../domain/payment.commands';
import { decide } from '../domain/payment.decide';
import type { PaymentEvent } from '../domain/payment.events';
import { evolve, initialState } from '../domain/payment.state';
import type { Payment } from '../domain/payment.state';
import { amount, identifier, metadata, text } from './schema-parts';
import { paymentIdFor, paymentStreamId, requestHash } from './ids';
import { commandMetadata, type CallContext, type CommandOutcome } from './outcome';
import { loadPayment, toNewEvents } from './payment-stream';

export const createPaymentSchema = z
  .strictObject({
    amount,
    currency: z
      .string()
      .regex(/^[a-z]{3}$/, 'must be a lowercase ISO 4217 currency code')
      .refine(isSupportedCurrency, 'must be a currency the ledger supports'),
    customer_id: identifier,
    payment_method: z.string().regex(/^pm_[A-Za-z0-9_]{1,100}$/, 'must be a payment method token such as pm_card_visa'),
    capture_method: z.enum(['automatic', 'manual']).default('automatic'),
    description: text(1000).nullable().optional(),
    metadata: metadata.optional(),
  })
  .superRefine((body, context) => {
    const problem = amountProblem(body.amount, body.currency);
    if (problem) context.addIssue({ code: 'custom', path: ['amount'], message: `${problem} for ${body.currency}` });
  });

export type CreatePaymentInput = z.infer<typeof createPaymentSchema>;

export const CREATE_PAYMENT = 'create_payment';

/**
 * The idempotency key is the stream identity. Nearly every create carries a new key, so the
 * PaymentRequested is appended with `no_stream` straight away, without reading the stream first
 * (one round trip less on the hot path). Only when the stream exists already (a retry, or a
 * concurrent duplicate that won the race) is it read, to replay the payment or report the key
 * reused. A create the decider refuses is checked against the stream the same way, so that a
 * used key is answered as a used key whatever the body.
 */
export function createPaymentHandler(store: EventStore) {
  return async (input: CreatePaymentInput, context: CallContext): Promise<CommandOutcome> => {
    const paymentId = paymentIdFor(context.merchantId, context.idempotencyKey);
    const streamId = paymentStreamId(paymentId);
    const hash = requestHash(CREATE_PAYMENT, input);
    const decision = decide(requestPayment(paymentId, input, context, hash), initialState());
    if (!('rejected' in decision)) {
      const appended = await appendNew(store, streamId, decision.events, context, hash);
      if (appended) {
        const payment = decision.events.reduce(evolve, initialState()) as Payment;
        return { kind: 'accepted', payment, revision: appended.revision, position: appended.position, replayed: false };
      }
    }
    const loaded = await loadPayment(store, paymentId);
    if (loaded.state.status === 'initial') {
      // A `no_stream` conflict means the stream has its first event: an empty one here is a broken store.
      if (!('rejected' in decision)) throw new Error(`${streamId} refused a no_stream append but holds no event`);
      return { kind: 'rejected', rejection: decision.rejected, detail: decision.detail };
    }
    if (loaded.state.requestHash !== hash) return { kind: 'idempotency_key_reused' };
    return { kind: 'accepted', payment: loaded.state, revision: loaded.revision, position: loaded.position!, replayed: true };
  };
}

function requestPayment(paymentId: string, input: CreatePaymentInput, context: CallContext, hash: string): RequestPayment {
  return {
    type: 'RequestPayment',
    paymentId,
    merchantId: context.merchantId,
    customerId: input.customer_id,
    amount: input.amount,
    currency: input.currency,
    paymentMethod: input.payment_method,
    captureMethod: input.capture_method,
    description: input.description ?? null,
    metadata: input.metadata ?? {},
    requestHash: hash,
    now: context.now.toISOString(),
  };
}

/**
 * Appends the first events of the stream; null when the stream exists already. The event ids carry
 * this request's metadata (its correlation id) through eventIdFor, so a second create with the same
 * key meets the conflict and is replayed or refused from the stream, never taken for the first.
 */
async function appendNew(
  store: EventStore,
  streamId: string,
  events: readonly PaymentEvent[],
  context: CallContext,
  hash: string,
): Promise<AppendResult | null> {
  const newEvents = toNewEvents(streamId, 0, events, commandMetadata(context, CREATE_PAYMENT, hash));
  try {
    return await store.append(streamId, newEvents, 'no_stream');
  } catch (error) {
    if (error instanceof StreamConflictError) return null;
    throw error;
  }
}
