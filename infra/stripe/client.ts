import Stripe from 'stripe';

export interface StripeClientOptions {
  /** A real key (test or live mode) or, for the sandbox, any `sk_test_` key. */
  readonly secretKey: string;
  /** Set to talk to the stripe-sandbox instead of api.stripe.com. */
  readonly sandbox?: { readonly host: string; readonly port: number };
  readonly timeoutMs?: number;
}

/**
 * The official SDK, pointed at the sandbox when one is given. The SDK's own retries are off: a job
 * retries through BullMQ with the same deterministic Idempotency-Key, which, unlike the SDK's random
 * key, survives a crash of the worker.
 */
export function createStripeClient(options: StripeClientOptions): Stripe {
  return new Stripe(options.secretKey, {
    maxNetworkRetries: 0,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    ...(options.sandbox ? { host: options.sandbox.host, port: options.sandbox.port, protocol: 'http' as const } : {}),
  });
}
