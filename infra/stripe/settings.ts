import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import type { StripeClientOptions } from './client';

export interface StripeSettings {
  /** True when no STRIPE_SECRET_KEY is set: the ledger talks to its own stripe-sandbox. */
  readonly useSandbox: boolean;
  readonly client: StripeClientOptions;
  readonly webhookSecrets: readonly string[];
}

/**
 * Real Stripe with STRIPE_SECRET_KEY (and STRIPE_WEBHOOK_SECRET); otherwise the sandbox on
 * STRIPE_SANDBOX_PORT. The sandbox and the write API must share a webhook secret: without
 * STRIPE_WEBHOOK_SECRET one is made once and kept in LEDGER_DATA_DIR, so every role finds it.
 */
export function stripeSettings(config: Config): StripeSettings {
  const api = config.STRIPE_API_URL ? new URL(config.STRIPE_API_URL) : null;
  const target = (fallbackPort: number) =>
    api ? { host: api.hostname, port: Number(api.port || (api.protocol === 'https:' ? 443 : 80)) } : { host: '127.0.0.1', port: fallbackPort };
  if (config.STRIPE_SECRET_KEY) {
    return {
      useSandbox: false,
      client: { secretKey: config.STRIPE_SECRET_KEY, ...(api ? { sandbox: target(0) } : {}) },
      webhookSecrets: config.STRIPE_WEBHOOK_SECRET?.split(',') ?? [],
    };
  }
  return {
    useSandbox: true,
    client: { secretKey: 'sk_test_sandbox', sandbox: target(config.STRIPE_SANDBOX_PORT) },
    webhookSecrets: config.STRIPE_WEBHOOK_SECRET?.split(',') ?? [sandboxWebhookSecret(config.LEDGER_DATA_DIR)],
  };
}

function sandboxWebhookSecret(dataDir: string): string {
  const file = join(dataDir, 'stripe-sandbox.json');
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { webhookSecret: string }).webhookSecret;
  mkdirSync(dataDir, { recursive: true });
  const webhookSecret = `whsec_${randomBytes(24).toString('base64url').replace(/[-_]/g, '0')}`;
  writeFileSync(file, JSON.stringify({ webhookSecret }, null, 2) + '\n', { mode: 0o600 });
  return webhookSecret;
}
