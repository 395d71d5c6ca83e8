import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Pool } from 'pg';
import { createPostgresEventStore } from '../event-store/postgres-event-store';
import { createStripeClient } from '../stripe/client';
import type { StripeClientOptions } from '../stripe/client';
import { createStripeGateway } from '../../processes/stripe-gateway';
import { executeRun } from '../../processes/reconciliation';
import type { ReconciliationProgress, RunView } from '../../processes/reconciliation';
import type { ProgressOutput } from '../../projections/progress';

export interface ReconciliationCommandDependencies {
  openDatabase(): Promise<{ readonly pool: Pool; close(): Promise<void> }>;
  stripe(): StripeClientOptions;
  readonly stdout?: ProgressOutput;
  readonly stderr?: ProgressOutput;
}

function isoTime(value: string): string {
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) || Number.isNaN(at)) {
    throw new InvalidArgumentError('an ISO 8601 date or time, such as 2026-01-31 or 2026-01-31T00:00:00Z');
  }
  return new Date(at).toISOString();
}

/**
 * `ledger reconcile --from <iso> --to <iso> [--json]`: one run over [from, to), a summary table (or
 * the run as JSON), progress on stderr, and exit code 1 while any discrepancy is left unresolved.
 */
export function registerReconciliationCommands(program: Command, deps: ReconciliationCommandDependencies): void {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  program
    .command('reconcile')
    .description('reconcile the ledger with Stripe balance transactions over [from, to); exits 1 while discrepancies are unresolved')
    .requiredOption('--from <iso>', 'start of the window (inclusive)', isoTime)
    .requiredOption('--to <iso>', 'end of the window (exclusive)', isoTime)
    .option('--json', 'print the run as JSON')
    .action(async (options: { from: string; to: string; json?: boolean }) => {
      if (Date.parse(options.from) >= Date.parse(options.to)) throw new InvalidArgumentError('--from must be before --to');
      const database = await deps.openDatabase();
      const gateway = createStripeGateway(createStripeClient(deps.stripe()));
      try {
        const progress = progressLine(stderr);
        const run = await executeRun(
          { store: createPostgresEventStore(database.pool), gateway, clock: () => new Date(), onProgress: progress.update },
          { runId: randomUUID(), window: { from: options.from, to: options.to }, trigger: 'cli', actor: 'cli' },
        );
        progress.finish();
        stdout.write(options.json ? `${JSON.stringify(run, null, 2)}\n` : summaryTable(run));
        if (run.unresolved > 0) process.exitCode = 1;
      } finally {
        gateway.shutdown();
        await database.close();
      }
    });
}

/** One line per phase change and at most one a second in between; a rewritten line on a terminal. */
function progressLine(output: ProgressOutput): { update(p: ReconciliationProgress): void; finish(): void } {
  let last = 0;
  let phase = '';
  const started = Date.now();
  const text = (p: ReconciliationProgress) => {
    const what = { ledger: 'events replayed', processor: 'balance transactions listed', owners: 'objects to look up', healing: 'healed', done: 'discrepancies' }[p.phase];
    const seconds = (Date.now() - started) / 1000;
    return `reconcile ${p.phase}: ${p.done}${p.total === null ? '' : `/${p.total}`} ${what} (${seconds.toFixed(1)} s)`;
  };
  return {
    update(p) {
      const now = Date.now();
      if (p.phase === phase && now - last < 1000) return;
      phase = p.phase;
      last = now;
      output.write(output.isTTY ? `\r\x1b[2K${text(p)}` : `${text(p)}\n`);
    },
    finish() {
      if (output.isTTY) output.write('\n');
    },
  };
}

export function summaryTable(run: RunView): string {
  const s = run.summary;
  const lines = [
    `reconciliation run ${run.id}`,
    `window      ${run.from} .. ${run.to}`,
    `replayed    ${s?.payments ?? 0} payments (${s?.events ?? 0} events); ${s?.balance_transactions ?? 0} balance transactions; ${s?.matched ?? 0} matched`,
    '',
    table(
      ['currency', 'ledger stripe_balance', 'stripe net', 'drift'],
      (s?.totals ?? []).map((t) => [t.currency, String(t.ledger_net), String(t.processor_net), String(t.drift)]),
    ),
    '',
    `discrepancies ${run.discrepancies.length}: ${run.healed} healed, ${run.discrepancies.length - run.healed - run.unresolved} resolved, ${run.unresolved} unresolved`,
  ];
  if (run.discrepancies.length > 0) {
    lines.push(
      '',
      table(
        ['kind', 'payment', 'stripe object', 'expected', 'actual', 'status'],
        run.discrepancies.map((d) => [d.kind, d.payment_id ?? '-', d.processor_object_id, fields(d.expected), fields(d.actual), d.status]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

const fields = (values: Readonly<Record<string, string | number>> | null): string =>
  values === null ? '-' : Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
