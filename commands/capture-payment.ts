import { z } from 'zod';
import type { EventStore } from '../ports/event-store';
import { amount } from './schema-parts';
import { childIdFor } from './ids';
import type { CallContext, CommandOutcome } from './outcome';
import { runPaymentCommand } from './payment-command';

export const capturePaymentSchema = z.strictObject({ amount: amount.optional() });
export type CapturePaymentInput = z.infer<typeof capturePaymentSchema>;

export function capturePaymentHandler(store: EventStore) {
  return (paymentId: string, input: CapturePaymentInput, context: CallContext): Promise<CommandOutcome> =>
    runPaymentCommand(
      store,
      {
        name: 'capture_payment',
        paymentId,
        body: input,
        build: () => ({
          type: 'CapturePayment',
          captureId: childIdFor(paymentId, 'capture', context.idempotencyKey),
          amount: input.amount ?? null,
          now: context.now.toISOString(),
        }),
      },
      context,
    );
}
