import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../database';
import { createApiKey, parseScopes } from '../auth/api-keys';
import type { Role } from '../system';
import { ROLES, startSystem } from '../system';
import { registerReadSideCommands } from './read-side-commands';

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${ROLES.join(', ')}`);
  return value as Role;
}

export function buildCli(): Command {
  const program = new Command('ledger').description('Event-sourced payment ledger').showHelpAfterError();

  program
    .command('start')
    .description('start the ledger (every part in one process by default)')
    .option('--role <role>', `which part to run: ${ROLES.join(' | ')}`, role, 'all')
    .action(async (options: { role: Role }) => {
      const config = loadConfig();
      const system = await startSystem(config, options.role);
      const lines = Object.entries(system.urls).map(([part, url]) => `  ${part.padEnd(15)} ${url}`);
      process.stdout.write(
        [
          `ledger started (role: ${options.role})`,
          ...lines,
          '',
          'Create an API key from another terminal:',
          '  npx ledger api-keys create --merchant acme --scopes payments:write,payments:read,audit:read',
          '',
        ].join('\n'),
      );
      const stop = async (signal: string) => {
        process.stdout.write(`\n${signal}: stopping\n`);
        await system.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });

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
      const database = await openDatabase(loadConfig());
      try {
        const created = await createApiKey(database.pool, { merchantId: options.merchant, scopes, mode: options.mode });
        process.stdout.write(`${created.key}\n`);
      } finally {
        await database.close();
      }
    });

  registerReadSideCommands(program, { openDatabase: () => openDatabase(loadConfig()) });
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildCli().parseAsync([...argv]);
  } catch (error) {
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`ledger: ${message}\n`);
    process.exit(1);
  }
}
