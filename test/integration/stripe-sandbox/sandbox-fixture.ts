import Stripe from 'stripe';
import type { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { migrate } from '../../../infra/postgres/migrate';
import { MIGRATIONS } from '../../../infra/postgres/migrations';
import { createStripeSandbox, stripeSandboxMigration, type StripeSandbox, type StripeSandboxOptions } from '../../../infra/stripe-sandbox';
import { testPool } from '../../support/postgres';

process.env.STRIPE_SUPPRESS_NOTICES = 'true';

export interface RunningSandbox {
  sandbox: StripeSandbox;
  port: number;
  stripe: Stripe;
  /** A client with its own options, e.g. a short timeout. */
  client(config?: Partial<Stripe.StripeConfig>, apiKey?: string): Stripe;
  admin<T = any>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
  close(): Promise<void>;
}

export async function migratedPool(): Promise<Pool> {
  const pool = testPool(10);
  // The lead registers the sandbox migration in MIGRATIONS; until then it is appended here.
  const registered = MIGRATIONS.some((m) => m.id === stripeSandboxMigration.id);
  await migrate(pool, registered ? MIGRATIONS : [...MIGRATIONS, stripeSandboxMigration]);
  return pool;
}

export async function startSandbox(pool: Pool, options: Omit<StripeSandboxOptions, 'pool'> = {}): Promise<RunningSandbox> {
  const sandbox = createStripeSandbox({ pool, ...options });
  const { port } = await sandbox.listen(0, '127.0.0.1');
  const client = (config: Partial<Stripe.StripeConfig> = {}, apiKey = 'sk_test_sandbox') =>
    new Stripe(apiKey, { host: '127.0.0.1', port, protocol: 'http', telemetry: false, maxNetworkRetries: 0, ...config });
  return {
    sandbox,
    port,
    stripe: client(),
    client,
    async admin(path, init = {}) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: init.method ?? 'GET',
        headers: { 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${response.status}: ${JSON.stringify(body)}`);
      return body as never;
    },
    close: () => sandbox.close(),
  };
}

/** Fresh metadata per test, so tests sharing the database never see each other's objects. */
export function paymentId(): string {
  return randomUUID();
}

/** The parameters the ledger's saga sends to authorize a payment. */
export function authorizeParams(amount: number, paymentMethod = 'pm_card_visa', capture: 'manual' | 'automatic' = 'manual') {
  return {
    amount,
    currency: 'usd',
    confirm: true,
    payment_method: paymentMethod,
    capture_method: capture,
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' as const },
    metadata: { payment_id: paymentId() },
  };
}

/**
 * A clock stopped at a second no other test uses (somewhere in 2001-2010), so lists filtered on
 * `created` see only this test's objects although every test file shares one database.
 */
export function isolatedClock(): { clock: () => number; second: number } {
  const second = 978_307_200 + Math.floor(Math.random() * 315_000_000);
  return { clock: () => second * 1000, second };
}
