import { z } from 'zod';
import type { EventStore } from '../ports/event-store';
import type { CallContext, CommandOutcome } from './outcome';
import { runPaymentCommand } from './payment-command';

export const cancelPaymentSchema = z.strictObject({
  reason: z.enum(['requested_by_customer', 'duplicate', 'fraudulent', 'abandoned']).optional(),
});
export type CancelPaymentInput = z.infer<typeof cancelPaymentSchema>;

export function cancelPaymentHandler(store: EventStore) {
  return (paymentId: string, input: CancelPaymentInput, context: CallContext): Promise<CommandOutcome> =>
    runPaymentCommand(
      store,
      {
        name: 'cancel_payment',
        paymentId,
        body: input,
        build: () => ({ type: 'CancelPayment', reason: input.reason ?? 'requested_by_customer', now: context.now.toISOString() }),
      },
      context,
    );
}
