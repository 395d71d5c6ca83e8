import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Pool } from 'pg';
import { createApiKey, parseScopes } from '../auth/api-keys';
import type { ApiKeyRecord } from '../auth/api-key-lifecycle';
import { listApiKeys, revokeApiKey, rotateApiKey } from '../auth/api-key-lifecycle';

interface Output {
  write(text: string): unknown;
}

export interface ApiKeyCommandDependencies {
  /** Opens the ledger's database (migrated); the command closes it when done. */
  openDatabase(): Promise<{ readonly pool: Pool; close(): Promise<void> }>;
  readonly stdout?: Output;
  readonly stderr?: Output;
}

/**
 * `ledger api-keys create|list|revoke|rotate`. A new key goes to stdout alone, so that it can be
 * captured (`KEY=$(ledger api-keys create ...)`); everything else an operator should read goes
 * to stderr. A key is printed once, when it is made, and never again.
 */
export function registerApiKeyCommands(program: Command, deps: ApiKeyCommandDependencies): void {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const withPool = async <T>(work: (pool: Pool) => Promise<T>): Promise<T> => {
    const database = await deps.openDatabase();
    try {
      return await work(database.pool);
    } finally {
      await database.close();
    }
  };

  const apiKeys = program.command('api-keys').description('manage API keys');
  apiKeys
    .command('create')
    .description('create an API key; prints only the key, which is shown this once')
    .requiredOption('--merchant <id>', 'the merchant the key belongs to')
    .requiredOption('--scopes <csv>', 'payments:write, payments:read, audit:read, admin')
    .option('--mode <mode>', 'test or live', 'test')
    .action(async (options: { merchant: string; scopes: string; mode: string }) => {
      if (options.mode !== 'test' && options.mode !== 'live') throw new InvalidArgumentError('--mode must be test or live');
      const scopes = parseScopes(options.scopes);
      const mode = options.mode;
      const created = await withPool((pool) => createApiKey(pool, { merchantId: options.merchant, scopes, mode }));
      stdout.write(`${created.key}\n`);
    });

  apiKeys
    .command('list')
    .description('list API keys (never the keys themselves): id, merchant, mode, scopes, status')
    .option('--merchant <id>', 'only this merchant')
    .option('--all', 'include revoked keys')
    .option('--json', 'one JSON object per line')
    .action(async (options: { merchant?: string; all?: boolean; json?: boolean }) => {
      const keys = await withPool((pool) =>
        listApiKeys(pool, { ...(options.merchant ? { merchantId: options.merchant } : {}), includeRevoked: options.all === true }),
      );
      for (const key of keys) stdout.write(`${options.json ? JSON.stringify(asJson(key)) : asLine(key)}\n`);
      if (!options.json && keys.length === 0) stderr.write('no API keys\n');
    });

  apiKeys
    .command('revoke')
    .description('revoke an API key at once; name it by id (key_...) or paste the leaked key itself')
    .argument('<key>', 'the key id, or the key')
    .action(async (idOrKey: string) => {
      const revoked = await withPool((pool) => revokeApiKey(pool, idOrKey));
      stdout.write(`revoked ${revoked.id} (${revoked.merchantId}) at ${revoked.revokedAt!.toISOString()}\n`);
    });

  apiKeys
    .command('rotate')
    .description('make a new key with the same merchant, scopes and mode, and revoke the old one; prints only the new key')
    .argument('<key>', 'the key id, or the key')
    .option('--grace <seconds>', 'keep the old key working this long (default: revoke at once)', graceSeconds, 0)
    .action(async (idOrKey: string, options: { grace: number }) => {
      const { created, revoked } = await withPool((pool) => rotateApiKey(pool, idOrKey, { graceSeconds: options.grace }));
      stderr.write(`rotated ${revoked.id} to ${created.id}; the old key stops working at ${revoked.revokedAt!.toISOString()}\n`);
      stdout.write(`${created.key}\n`);
    });
}

function graceSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d{1,7}$/.test(value) || seconds > 30 * 86_400) throw new InvalidArgumentError('whole seconds from 0 to 2592000');
  return seconds;
}

function asJson(key: ApiKeyRecord) {
  return {
    id: key.id,
    merchant_id: key.merchantId,
    mode: key.mode,
    scopes: key.scopes,
    status: key.status,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}

function asLine(key: ApiKeyRecord): string {
  const revoked = key.revokedAt ? ` ${key.status === 'expiring' ? 'until' : 'since'} ${key.revokedAt.toISOString()}` : '';
  return `${key.id}  ${key.merchantId}  ${key.mode}  ${key.scopes.join(',')}  ${key.status}${revoked}`;
}
