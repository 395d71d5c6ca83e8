import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import canonicalize from 'canonicalize';

/** Namespace of every id the ledger derives with uuidv5. Never change it: ids would change. */
export const LEDGER_NAMESPACE = '6f1d4c1e-2a77-5b3e-9a51-0c1f6b8f4d2a';

/** The idempotency key is the stream identity: a duplicate create cannot make a second stream. */
export function paymentIdFor(merchantId: string, idempotencyKey: string): string {
  return uuidv5(`${merchantId}:${idempotencyKey}`, LEDGER_NAMESPACE);
}

export function paymentStreamId(paymentId: string): string {
  return `payment-${paymentId}`;
}

/** A child id (capture, refund) derived from the payment and the client's key for that call. */
export function childIdFor(paymentId: string, kind: 'capture' | 'refund' | 'cancel', idempotencyKey: string): string {
  return uuidv5(`${paymentId}:${kind}:${idempotencyKey}`, LEDGER_NAMESPACE);
}

/** What an event id is derived from besides its place in the stream. */
export interface EventContent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
}

/**
 * Deterministic event id from the stream, the revision and the event itself: an append retried after
 * a lost reply carries the same ids (EventStoreDB recognises the retry and answers it as done), while
 * a different event racing for the same revision gets another id, and so meets the conflict it must
 * meet instead of being taken for the winner's retry.
 */
export function eventIdFor(streamId: string, revision: number, event: EventContent): string {
  const digest = createHash('sha256')
    .update(canonicalize({ type: event.type, data: event.data, metadata: event.metadata }) ?? 'null')
    .digest('hex');
  return uuidv5(`${streamId}@${revision}:${digest}`, LEDGER_NAMESPACE);
}

/** Events to append from `fromRevision` on, each with its deterministic id. */
export function withEventIds<E extends EventContent>(streamId: string, fromRevision: number, events: readonly E[]): (E & { id: string })[] {
  return events.map((event, index) => ({ ...event, id: eventIdFor(streamId, fromRevision + index, event) }));
}

/** sha256 of the canonical JSON (RFC 8785) of a request: key order and spacing do not matter. */
export function requestHash(command: string, body: unknown): string {
  const canonical = canonicalize({ command, body: body ?? null });
  return createHash('sha256').update(canonical ?? 'null').digest('hex');
}
