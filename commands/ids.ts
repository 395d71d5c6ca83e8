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

/** Deterministic event id, so that an append retried after a lost reply can be recognised. */
export function eventIdFor(streamId: string, revision: number): string {
  return uuidv5(`${streamId}@${revision}`, LEDGER_NAMESPACE);
}

/** sha256 of the canonical JSON (RFC 8785) of a request: key order and spacing do not matter. */
export function requestHash(command: string, body: unknown): string {
  const canonical = canonicalize({ command, body: body ?? null });
  return createHash('sha256').update(canonical ?? 'null').digest('hex');
}
