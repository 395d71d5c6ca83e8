import type { EventMetadata, EventStore } from '../ports/event-store';
import type { ProcessorFact } from '../domain/payment.commands';
import type { PaymentEvent } from '../domain/payment.events';
import type { PaymentRejection } from '../domain/payment.decide';
import { decide } from '../domain/payment.decide';
import { evolve } from '../domain/payment.state';
import type { PaymentState } from '../domain/payment.state';
import { loadPayment, toNewEvents, withConflictRetry } from '../commands/payment-stream';

export interface RecordedFacts {
  readonly appended: readonly PaymentEvent[];
  /** Facts the stream contradicts: left for reconciliation and a person, never forced in. */
  readonly rejected: readonly { fact: ProcessorFact['type']; rejection: PaymentRejection; detail: string }[];
  readonly state: PaymentState;
}

/**
 * Appends what Stripe told us. Each fact is decided against the state the previous ones left, so a
 * fact already held (a webhook after the job result, a redelivery) becomes no event at all.
 */
export async function recordFacts(
  store: EventStore,
  paymentId: string,
  facts: readonly ProcessorFact[],
  metadata: EventMetadata,
): Promise<RecordedFacts> {
  return withConflictRetry(async () => {
    const loaded = await loadPayment(store, paymentId);
    let state = loaded.state;
    const appended: PaymentEvent[] = [];
    const rejected: { fact: ProcessorFact['type']; rejection: PaymentRejection; detail: string }[] = [];
    for (const fact of facts) {
      const decision = decide(fact, state);
      if ('rejected' in decision) {
        rejected.push({ fact: fact.type, rejection: decision.rejected, detail: decision.detail });
        continue;
      }
      for (const event of decision.events) {
        appended.push(event);
        state = evolve(state, event);
      }
    }
    if (appended.length > 0) {
      await store.append(loaded.streamId, toNewEvents(loaded.streamId, loaded.revision + 1, appended, metadata), loaded.revision);
    }
    return { appended, rejected, state };
  });
}
