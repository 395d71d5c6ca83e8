import type { EventMetadata, Position } from '../ports/event-store';
import type { PaymentRejection } from '../domain/payment.decide';
import type { Payment } from '../domain/payment.state';

/** Who is calling and with which key; everything a handler needs besides the command itself. */
export interface CallContext {
  readonly merchantId: string;
  /** The API key id (never the key), recorded as the actor. */
  readonly actor: string;
  readonly idempotencyKey: string;
  readonly correlationId: string;
  readonly now: Date;
}

/** The metadata of the events a write-API command appends: who, which request, which key. */
export function commandMetadata(context: CallContext, command: string, requestHash: string): EventMetadata {
  return {
    correlation_id: context.correlationId,
    causation_id: context.correlationId,
    actor: context.actor,
    source: 'write-api',
    idempotency_key: context.idempotencyKey,
    request_hash: requestHash,
    command,
  };
}

export type CommandOutcome =
  | {
      readonly kind: 'accepted';
      readonly payment: Payment;
      readonly revision: number;
      readonly position: Position;
      /** True when this key was seen before and nothing new was appended. */
      readonly replayed: boolean;
      /** The refund the call created or replays, for refund calls. */
      readonly refundId?: string;
    }
  | { readonly kind: 'rejected'; readonly rejection: PaymentRejection; readonly detail: string }
  | { readonly kind: 'payment_not_found' }
  | { readonly kind: 'idempotency_key_reused' };
