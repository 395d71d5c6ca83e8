import type { EventStore, NewEvent } from '../../ports/event-store';
import type { PaymentEvent } from '../../domain/payment.events';
import { paymentStreamId } from '../../commands/ids';

/**
 * Builders of processor facts, appended straight to a payment's stream the way the Stripe saga
 * will append them: tests seed state through events, never through read-model rows.
 */
const at = '2026-01-01T00:00:00.000Z';

export const facts = {
  authorized: (amount: number): PaymentEvent => ({
    type: 'PaymentAuthorized',
    data: { processor_payment_id: 'pi_test', amount_authorized: amount, authorized_at: at, capture_before: null },
  }),
  captured: (captureId: string, amount: number, fee = 0): PaymentEvent => ({
    type: 'PaymentCaptured',
    data: {
      capture_id: captureId,
      amount_captured: amount,
      fee,
      net: amount - fee,
      processor_charge_id: 'ch_test',
      balance_transaction_id: 'txn_test',
      captured_at: at,
    },
  }),
  failed: (): PaymentEvent => ({
    type: 'PaymentFailed',
    data: { stage: 'authorization', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', failed_at: at },
  }),
};

export async function appendFacts(store: EventStore, paymentId: string, events: readonly PaymentEvent[]): Promise<void> {
  const streamId = paymentStreamId(paymentId);
  const current = await store.read(streamId);
  const newEvents: NewEvent[] = events.map((event) => ({
    type: event.type,
    data: event.data as unknown as Record<string, unknown>,
    metadata: { correlation_id: 'test', causation_id: 'test', actor: 'stripe', source: 'test' },
  }));
  await store.append(streamId, newEvents, current.length - 1);
}
