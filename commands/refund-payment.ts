import { z } from 'zod';
import type { EventStore } from '../ports/event-store';
import { amount } from './schema-parts';
import { childIdFor } from './ids';
import type { CallContext, CommandOutcome } from './outcome';
import { runPaymentCommand } from './payment-command';

export const refundPaymentSchema = z.strictObject({
  amount: amount.optional(),
  reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
});
export type RefundPaymentInput = z.infer<typeof refundPaymentSchema>;

export function refundPaymentHandler(store: EventStore) {
  return (paymentId: string, input: RefundPaymentInput, context: CallContext): Promise<CommandOutcome> => {
    const refundId = childIdFor(paymentId, 'refund', context.idempotencyKey);
    return runPaymentCommand(
      store,
      {
        name: 'refund_payment',
        paymentId,
        body: input,
        refundId,
        build: () => ({
          type: 'RefundPayment',
          refundId,
          amount: input.amount ?? null,
          reason: input.reason ?? null,
          now: context.now.toISOString(),
        }),
      },
      context,
    );
  };
}
