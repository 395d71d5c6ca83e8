import { z } from 'zod';
import type { EventStore } from '../ports/event-store';
import { amountProblem, isSupportedCurrency } from '../domain/money';
import { decide } from '../domain/payment.decide';
import { evolve } from '../domain/payment.state';
import type { Payment } from '../domain/payment.state';
import { amount, identifier, metadata, text } from './schema-parts';
import { paymentIdFor, requestHash } from './ids';
import type { CallContext, CommandOutcome } from './outcome';
import { loadPayment, toNewEvents, withConflictRetry } from './payment-stream';

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
 * The idempotency key is the stream identity. The first call appends PaymentRequested with
 * `no_stream`; a concurrent duplicate loses that race, re-reads the winner's event and replays it.
 */
export function createPaymentHandler(store: EventStore) {
  return async (input: CreatePaymentInput, context: CallContext): Promise<CommandOutcome> => {
    const paymentId = paymentIdFor(context.merchantId, context.idempotencyKey);
    const hash = requestHash(CREATE_PAYMENT, input);
    return withConflictRetry(async () => {
      const loaded = await loadPayment(store, paymentId);
      if (loaded.state.status !== 'initial') {
        if (loaded.state.requestHash !== hash) return { kind: 'idempotency_key_reused' };
        return { kind: 'accepted', payment: loaded.state, revision: loaded.revision, position: loaded.position!, replayed: true };
      }
      const decision = decide(
        {
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
        },
        loaded.state,
      );
      if ('rejected' in decision) return { kind: 'rejected', rejection: decision.rejected, detail: decision.detail };
      const appended = await store.append(
        loaded.streamId,
        toNewEvents(loaded.streamId, 0, decision.events, {
          correlation_id: context.correlationId,
          causation_id: context.correlationId,
          actor: context.actor,
          source: 'write-api',
          idempotency_key: context.idempotencyKey,
          request_hash: hash,
          command: CREATE_PAYMENT,
        }),
        'no_stream',
      );
      const payment = decision.events.reduce(evolve, loaded.state) as Payment;
      return { kind: 'accepted', payment, revision: appended.revision, position: appended.position, replayed: false };
    });
  };
}
