import type { EventMetadata, EventStore } from '../ports/event-store';
import type { ProcessorFact } from '../domain/payment.commands';
import type { PaymentEvent } from '../domain/payment.events';
import type { PaymentRejection } from '../domain/payment.decide';
import { decide } from '../domain/payment.decide';
import { evolve } from '../domain/payment.state';
import type { PaymentState } from '../domain/payment.state';
import type { LoadedPayment } from '../commands/payment-stream';
import { loadPayment, toNewEvents, withConflictRetry } from '../commands/payment-stream';

type Rejected = { fact: ProcessorFact['type']; rejection: PaymentRejection; detail: string };

export interface RecordedFacts {
  readonly appended: readonly PaymentEvent[];
  /** Facts the stream contradicts: left for reconciliation and a person, never forced in. */
  readonly rejected: readonly Rejected[];
  readonly state: PaymentState;
}

/**
 * Appends what Stripe told us. Each fact is decided against the state the previous ones left, so a
 * fact already held (a webhook after the job result, a redelivery) becomes no event at all.
 *
 * `read` is the stream as the caller read it before asking Stripe; deciding on it saves a second
 * read on every job. It may be out of date by now, which is safe: an append made on it conflicts
 * and is decided again on a fresh read, and a fact it holds already is held in any later state
 * too. Only a rejection could be an artefact of the old read (a refund decided on a state from
 * before the capture), so a rejection is always confirmed on a fresh read.
 */
export async function recordFacts(
  store: EventStore,
  paymentId: string,
  facts: readonly ProcessorFact[],
  metadata: EventMetadata,
  read?: LoadedPayment,
): Promise<RecordedFacts> {
  let earlier = read;
  return withConflictRetry(async () => {
    let loaded = earlier ?? (await loadPayment(store, paymentId));
    let decided = decideFacts(loaded.state, facts);
    if (earlier && decided.rejected.length > 0) {
      loaded = await loadPayment(store, paymentId);
      decided = decideFacts(loaded.state, facts);
    }
    earlier = undefined;
    if (decided.appended.length > 0) {
      await store.append(loaded.streamId, toNewEvents(loaded.streamId, loaded.revision + 1, decided.appended, metadata), loaded.revision);
    }
    return decided;
  });
}

function decideFacts(from: PaymentState, facts: readonly ProcessorFact[]): RecordedFacts {
  let state = from;
  const appended: PaymentEvent[] = [];
  const rejected: Rejected[] = [];
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
  return { appended, rejected, state };
}
