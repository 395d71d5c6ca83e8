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
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
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
