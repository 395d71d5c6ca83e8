import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

/**
 * Every setting, read from the environment once at boot. A bad value stops the process with a
 * message naming the variable and what was expected.
 */
export const configSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  LEDGER_DATA_DIR: z.string().min(1).default('./.data'),
  LEDGER_PG_PORT: port.default(54320),
  LEDGER_DATABASE: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default('ledger'),
  HOST: z.string().min(1).default('127.0.0.1'),
  WRITE_API_PORT: port.default(8080),
  READ_API_PORT: port.default(8081),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, 'a Stripe secret key (sk_test_..., sk_live_...)').optional(),
  /** Comma-separated: during a rotation both the old and the new secret are accepted. */
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9_+/=-]+(,whsec_[A-Za-z0-9_+/=-]+)*$/, 'one or more comma-separated whsec_... secrets')
    .optional(),
  /** Points the SDK elsewhere than api.stripe.com (a sandbox run as its own role, say). */
  STRIPE_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  STRIPE_SANDBOX_PORT: port.default(12111),
  /** Where the sandbox delivers webhooks; default: this host's write API. */
  STRIPE_SANDBOX_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  SAGA_QUEUE: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('payment-saga'),
  SAGA_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  SAGA_STUCK_AFTER_MS: z.coerce.number().int().min(1000).default(60_000),
  SAGA_JANITOR_EVERY_MS: z.coerce.number().int().min(100).default(15_000),
  /** /metrics, /livez and /readyz of the processes and projections roles (DESIGN section 1). */
  PROCESSES_METRICS_PORT: port.default(9464),
  PROJECTIONS_METRICS_PORT: port.default(9465),
  /** How long /readyz waits for each dependency before calling it down. */
  READYZ_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(1000),
  /** EventStoreDB or KurrentDB as the event store (esdb://host:2113?tls=false); the Postgres event store when unset. */
  EVENTSTORE_URL: z
    .string()
    .regex(/^esdb(\+discover)?:\/\/\S+$/, 'an EventStoreDB connection string such as esdb://eventstore:2113?tls=false')
    .optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  /** When the daily reconciliation of the previous UTC day runs: a cron pattern in UTC, or `off`. */
  RECONCILIATION_CRON: z
    .string()
    .regex(/^(off|(\S+\s+){4,5}\S+)$/, 'a cron pattern such as "15 0 * * *", or off')
    .default('15 0 * * *'),
  /** Requests per API key per window, shared through Redis when REDIS_URL is set. */
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(1).default(6000),
  /** Failed authentications per client address per window. */
  RATE_LIMIT_FAILED_AUTH: z.coerce.number().int().min(1).default(6000),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** Comma-separated browser origins allowed by CORS; empty keeps CORS closed. */
  CORS_ORIGINS: z
    .string()
    .regex(/^(https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(,\s*https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?)*)?$/, 'comma-separated origins such as https://app.example.com')
    .optional(),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(result.data);
}
