import type { OpContext } from './context';
import { newId } from './ids';
import type { StripeEvent, StripeObject } from './objects';
import { insertObject, type Db } from './store';

/**
 * Records an event in the same transaction as the change it describes, and queues it for webhook
 * delivery in that transaction too, so a committed change always gets its webhook (at least once).
 */
export async function emitEvent(
  db: Db,
  ctx: OpContext,
  type: string,
  object: StripeObject,
  previousAttributes?: Record<string, unknown>,
): Promise<StripeEvent> {
  const event: StripeEvent = {
    id: newId('evt'),
    object: 'event',
    api_version: ctx.apiVersion,
    created: ctx.now,
    type,
    data: previousAttributes ? { object, previous_attributes: previousAttributes } : { object },
    livemode: false,
    pending_webhooks: ctx.webhook === null ? 0 : 1,
    request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
  };
  await insertObject(db, event);
  if (ctx.webhook !== null) {
    await db.query('insert into stripe_sandbox.webhook_outbox (event_id, endpoint_url, next_attempt_at) values ($1, $2, $3)', [
      event.id,
      ctx.webhook.url,
      ctx.webhook.firstAttemptAtMs,
    ]);
  }
  return event;
}

/** The fields of `before` that differ in `after`, with their old values: Stripe's previous_attributes. */
export function previousAttributes<T extends object>(before: T, after: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(after) as Array<keyof T>) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) out[key as string] = before[key];
  }
  return out;
}
