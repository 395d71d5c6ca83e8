import type { EventMetadata, EventStore, NewEvent, Position, RecordedEvent } from '../ports/event-store';
import { StreamConflictError } from '../ports/event-store';
import type { PaymentEvent } from '../domain/payment.events';
import { isPaymentEventType } from '../domain/payment.events';
import type { PaymentState } from '../domain/payment.state';
import { evolve, initialState } from '../domain/payment.state';
import { paymentStreamId, withEventIds } from './ids';

/** A payment stream as read: the folded state plus where the stream stands. */
export interface LoadedPayment {
  readonly streamId: string;
  readonly state: PaymentState;
  readonly events: readonly RecordedEvent[];
  /** Revision of the last event, or -1 when the stream does not exist. */
  readonly revision: number;
  readonly position: Position | null;
}

export async function loadPayment(store: EventStore, paymentId: string): Promise<LoadedPayment> {
  const streamId = paymentStreamId(paymentId);
  const events = await store.read(streamId);
  let state = initialState();
  for (const event of events) state = evolve(state, toPaymentEvent(event));
  const last = events[events.length - 1];
  return { streamId, state, events, revision: last ? last.revision : -1, position: last ? last.position : null };
}

export function toPaymentEvent(event: RecordedEvent): PaymentEvent {
  if (!isPaymentEventType(event.type)) {
    throw new Error(`stream ${event.streamId} holds an event of unknown type ${event.type} at revision ${event.revision}`);
  }
  return { type: event.type, data: event.data } as PaymentEvent;
}

/** Turns decided events into events to append, with deterministic ids (see eventIdFor). */
export function toNewEvents(
  streamId: string,
  fromRevision: number,
  events: readonly PaymentEvent[],
  metadata: EventMetadata,
): NewEvent[] {
  return withEventIds(
    streamId,
    fromRevision,
    events.map((event) => ({ type: event.type, data: event.data as unknown as Record<string, unknown>, metadata })),
  );
}

/**
 * Runs `attempt` again when another writer moved the stream between our read and our append.
 * Optimistic concurrency: each attempt re-reads, re-decides and appends with the revision it read.
 */
export async function withConflictRetry<T>(attempt: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof StreamConflictError) || i >= attempts) throw error;
    }
  }
}

/** The first event in the stream that a client call with this idempotency key caused. */
export function findByIdempotencyKey(events: readonly RecordedEvent[], idempotencyKey: string): RecordedEvent | undefined {
  return events.find((event) => event.metadata.idempotency_key === idempotencyKey);
}
