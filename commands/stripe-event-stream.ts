/** Stripe events as the ledger keeps them: one stream per event id, so a redelivery is a no-op. */
export const STRIPE_EVENT_RECEIVED = 'StripeEventReceived';
export const STRIPE_EVENT_PROCESSED = 'StripeEventProcessed';
export const STRIPE_EVENT_STREAM_PREFIX = 'stripe-event-';

export function stripeEventStreamId(stripeEventId: string): string {
  return `${STRIPE_EVENT_STREAM_PREFIX}${stripeEventId}`;
}
