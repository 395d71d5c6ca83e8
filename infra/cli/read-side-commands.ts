import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Pool } from 'pg';
import { createPostgresEventStore } from '../event-store/postgres-event-store';
import { PROJECTIONS, projectionNamed, rebuildProjection } from '../../projections';
import { progressReporter, type ProgressOutput } from '../../projections/progress';
import { auditStreams } from '../read-side';

export interface ReadSideCommandDependencies {
  /** Opens the ledger's database (migrated); the command closes it when done. */
  openDatabase(): Promise<{ readonly pool: Pool; close(): Promise<void> }>;
  readonly stdout?: ProgressOutput;
  readonly stderr?: ProgressOutput;
}

/**
 * `ledger projections rebuild [name]` and `ledger audit verify [--stream <id>]`. A failed audit
 * sets a non-zero exit code and names the first altered or missing event.
 */
export function registerReadSideCommands(program: Command, deps: ReadSideCommandDependencies): void {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;

  const projections = program.command('projections').description('read-model projections');
  projections
    .command('rebuild')
    .description(`replay the event store into fresh read models and swap them in (${PROJECTIONS.map((p) => p.name).join(', ')}; default: all)`)
    .argument('[name]', 'the projection to rebuild', (value: string) => {
      if (!projectionNamed(value)) throw new InvalidArgumentError(`one of ${PROJECTIONS.map((p) => p.name).join(', ')}`);
      return value;
    })
    .option('--batch <n>', 'events per transaction (default 5000)', (value: string) => {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('an integer from 1 to 100000');
      return n;
    })
    .action(async (name: string | undefined, options: { batch?: number }) => {
      const chosen = name ? [projectionNamed(name)!] : PROJECTIONS;
      const database = await deps.openDatabase();
      try {
        const store = createPostgresEventStore(database.pool);
        for (const projection of chosen) {
          const progress = progressReporter(stdout);
          const result = await rebuildProjection(database.pool, store, projection, {
            ...(options.batch ? { batch: options.batch } : {}),
            onProgress: (p) => progress.update(p),
          });
          progress.finish();
          stdout.write(
            `rebuilt ${result.projection}: ${result.events} events in ${result.seconds.toFixed(1)} s (${Math.round(result.eventsPerSecond)} events/s)\n`,
          );
        }
      } finally {
        await database.close();
      }
    });

  const audit = program.command('audit').description('verify the event store');
  audit
    .command('verify')
    .description('recompute the hash chain of every stream (or one); exits non-zero at the first altered or missing event')
    .option('--stream <id>', 'verify this stream only')
    .action(async (options: { stream?: string }) => {
      const database = await deps.openDatabase();
      try {
        const report = await auditStreams(database.pool, options.stream === undefined ? {} : { streamId: options.stream });
        if (report.failure) {
          const { streamId, revision, reason } = report.failure;
          stderr.write(`audit failed: stream ${streamId}, revision ${revision}: ${reason}\n`);
          process.exitCode = 1;
          return;
        }
        stdout.write(`audit passed: ${report.streams} streams, ${report.events} events, every hash chain intact\n`);
      } finally {
        await database.close();
      }
    });
}
