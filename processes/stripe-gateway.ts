import CircuitBreaker from 'opossum';
import Stripe from 'stripe';

/**
 * Every Stripe call of the saga goes through here: one circuit breaker for Stripe as a whole, and one
 * classification of errors. Only *unknown outcomes* (timeouts, connection errors, 5xx, 409, 429,
 * authentication trouble) count against the breaker; a decline or a rejected request is an answer.
 */
export type CallOutcome = 'ok' | 'declined' | 'rejected' | 'unknown';

export interface StripeGateway {
  readonly stripe: Stripe;
  call<T>(operation: string, fn: (stripe: Stripe) => Promise<T>): Promise<T>;
  /** 0 closed, 1 half-open, 2 open. */
  state(): 0 | 1 | 2;
  onOutcome(listener: (operation: string, outcome: CallOutcome) => void): void;
  shutdown(): void;
}

export interface BreakerSettings {
  /** Percentage of failing calls in the rolling window that opens the breaker. */
  readonly errorThresholdPercentage: number;
  /** How long it stays open before letting one trial call through. */
  readonly resetTimeoutMs: number;
  readonly rollingCountTimeoutMs: number;
  /** Calls needed in the window before the percentage counts. */
  readonly volumeThreshold: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  errorThresholdPercentage: 50,
  resetTimeoutMs: 5_000,
  rollingCountTimeoutMs: 10_000,
  volumeThreshold: 10,
};

/** Raised instead of calling Stripe while the breaker is open: the job waits, it does not fail. */
export class StripeUnavailableError extends Error {
  override readonly name = 'StripeUnavailableError';
}

export function classifyStripeError(error: unknown): CallOutcome {
  if (error instanceof Stripe.errors.StripeCardError) return 'declined';
  if (error instanceof Stripe.errors.StripeIdempotencyError) return 'rejected';
  if (error instanceof Stripe.errors.StripeInvalidRequestError) return 'rejected';
  if (error instanceof Stripe.errors.StripePermissionError) return 'rejected';
  return 'unknown';
}

export function createStripeGateway(stripe: Stripe, settings: BreakerSettings = DEFAULT_BREAKER): StripeGateway {
  const listeners: ((operation: string, outcome: CallOutcome) => void)[] = [];
  const breaker = new CircuitBreaker(<T>(fn: () => Promise<T>) => fn(), {
    timeout: false,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.rollingCountTimeoutMs,
    volumeThreshold: settings.volumeThreshold,
    // An answer from Stripe, even a "no", shows Stripe is up: it must not open the breaker.
    errorFilter: (error: unknown) => classifyStripeError(error) !== 'unknown',
  });
  const emit = (operation: string, outcome: CallOutcome) => listeners.forEach((listener) => listener(operation, outcome));

  return {
    stripe,
    async call<T>(operation: string, fn: (client: Stripe) => Promise<T>): Promise<T> {
      try {
        const result = (await breaker.fire(() => fn(stripe))) as T;
        emit(operation, 'ok');
        return result;
      } catch (error) {
        if ((error as { code?: string }).code === 'EOPENBREAKER') {
          throw new StripeUnavailableError(`Stripe circuit is open; ${operation} waits`);
        }
        emit(operation, classifyStripeError(error));
        throw error;
      }
    },
    state: () => (breaker.opened ? 2 : breaker.halfOpen ? 1 : 0),
    onOutcome: (listener) => void listeners.push(listener),
    shutdown: () => breaker.shutdown(),
  };
}
