import type { EventStore } from '../ports/event-store';
import type { PaymentCommand } from '../domain/payment.commands';
import { decide } from '../domain/payment.decide';
import { evolve } from '../domain/payment.state';
import type { Payment } from '../domain/payment.state';
import { requestHash } from './ids';
import { commandMetadata, type CallContext, type CommandOutcome } from './outcome';
import { findByIdempotencyKey, loadPayment, toNewEvents, withConflictRetry } from './payment-stream';

export interface PaymentCommandSpec {
  /** Stable name of the client call, kept in the events' metadata beside the idempotency key. */
  readonly name: string;
  readonly paymentId: string;
  readonly body: unknown;
  readonly build: (payment: Payment) => PaymentCommand;
  /** The refund a refund call stands for, reported back in the outcome. */
  readonly refundId?: string;
}

/**
 * Load -> decide -> append for a command on an existing payment. The idempotency key of the call
 * is looked up in the stream itself: the same key and body replay, the same key with another body
 * or another call is a reuse. A call that decides to no events appends nothing and succeeds.
 */
export async function runPaymentCommand(store: EventStore, spec: PaymentCommandSpec, context: CallContext): Promise<CommandOutcome> {
  const hash = requestHash(spec.name, spec.body);
  return withConflictRetry(async () => {
    const loaded = await loadPayment(store, spec.paymentId);
    const payment = loaded.state;
    if (payment.status === 'initial' || payment.merchantId !== context.merchantId) return { kind: 'payment_not_found' };
    const current = { payment, revision: loaded.revision, position: loaded.position! };
    const earlier = findByIdempotencyKey(loaded.events, context.idempotencyKey);
    if (earlier) {
      if (earlier.metadata.command !== spec.name || earlier.metadata.request_hash !== hash) return { kind: 'idempotency_key_reused' };
      return { kind: 'accepted', ...current, replayed: true, ...(spec.refundId ? { refundId: spec.refundId } : {}) };
    }
    const decision = decide(spec.build(payment), payment);
    if ('rejected' in decision) return { kind: 'rejected', rejection: decision.rejected, detail: decision.detail };
    if (decision.events.length === 0) {
      return { kind: 'accepted', ...current, replayed: false, ...(spec.refundId ? { refundId: spec.refundId } : {}) };
    }
    const appended = await store.append(
      loaded.streamId,
      toNewEvents(loaded.streamId, loaded.revision + 1, decision.events, commandMetadata(context, spec.name, hash)),
      loaded.revision,
    );
    return {
      kind: 'accepted',
      payment: decision.events.reduce(evolve, payment as Parameters<typeof evolve>[0]) as Payment,
      revision: appended.revision,
      position: appended.position,
      replayed: false,
      ...(spec.refundId ? { refundId: spec.refundId } : {}),
    };
  });
}
