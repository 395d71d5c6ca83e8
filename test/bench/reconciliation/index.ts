// Reconciliation of a day of payments: payments/s of one run over a window holding them all, every
// payment captured (a quarter refunded) and Stripe's balance transactions all there, against the
// raw cost of the run's two inputs (reading the same streams, listing the same transactions).
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { migrate } from '../../../infra/postgres/migrate';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { LIST_SLICES, type ReconciliationPhase, type ReconciliationWindow } from '../../../processes/reconciliation';
import { compare, inFreshProcess, type Benchmark, type BenchContext } from '../harness';
import { seedWindow, type SeedExpectations } from './seed';
import { startSandboxProcess } from './sandbox';
import type { InputsOutcome, RunOutcome, WorkInput } from './work';

const ID = 'reconciliation';
const WINDOW: ReconciliationWindow = { from: '2026-01-15T00:00:00.000Z', to: '2026-01-16T00:00:00.000Z' };
const SEED = 20_260_115;
const SEED_CONCURRENCY = 16;
const WORK = resolve(__dirname, 'work.ts');

interface Measured<T> {
  readonly result: T;
  /** The working process and the sandbox process that served it. */
  readonly peakRssMb: number;
  readonly sandboxPeakRssMb: number;
}

/** Runs one export of work.ts in a fresh process, served by a sandbox process of its own. */
async function measure<T>(databaseUrl: string, exportName: 'reconcileWindow' | 'readInputs'): Promise<Measured<T>> {
  const sandbox = await startSandboxProcess(databaseUrl);
  let sandboxPeakRssMb = Number.NaN;
  try {
    const input: WorkInput = { databaseUrl, sandboxPort: sandbox.port, window: WINDOW };
    const { result, peakRssMb } = await inFreshProcess<T>(WORK, exportName, input);
    sandboxPeakRssMb = await sandbox.stop();
    return { result, peakRssMb: peakRssMb + sandboxPeakRssMb, sandboxPeakRssMb };
  } finally {
    if (Number.isNaN(sandboxPeakRssMb)) await sandbox.stop();
  }
}

async function seed(ctx: BenchContext, databaseUrl: string, payments: number): Promise<SeedExpectations> {
  // Seeding is not measured: commits need not wait for the WAL to reach the disk.
  const pool = new Pool({ connectionString: databaseUrl, max: SEED_CONCURRENCY + 2, options: '-c synchronous_commit=off' });
  try {
    await migrate(pool);
    const started = Date.now();
    const expected = await seedWindow(pool, createPostgresEventStore(pool), { payments, window: WINDOW, seed: SEED, concurrency: SEED_CONCURRENCY });
    ctx.log(`seeded ${payments} payments, ${expected.events} events, ${expected.balanceTransactions} balance transactions in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await pool.query('vacuum analyze');
    return expected;
  } finally {
    await pool.end();
  }
}

/** A run that reports anything but a clean window measured something other than reconciliation. */
function assertClean(run: RunOutcome, expected: SeedExpectations): void {
  const problems: string[] = [];
  if (run.status !== 'completed') problems.push(`status ${run.status}`);
  if (run.discrepancies !== 0) problems.push(`${run.discrepancies} discrepancies (${run.unresolved} unresolved)`);
  if (run.summary.payments !== expected.payments) problems.push(`${run.summary.payments} payments replayed, ${expected.payments} seeded`);
  if (run.summary.events !== expected.events) problems.push(`${run.summary.events} events replayed, ${expected.events} seeded`);
  if (run.summary.balanceTransactions !== expected.balanceTransactions) {
    problems.push(`${run.summary.balanceTransactions} balance transactions listed, ${expected.balanceTransactions} seeded`);
  }
  if (run.summary.matched !== expected.groups) problems.push(`${run.summary.matched} matched of ${expected.groups} charges and refunds`);
  for (const t of run.summary.totals) {
    if (t.drift !== 0 || t.processor_net !== expected.netByCurrency[t.currency]) problems.push(`${t.currency}: ${JSON.stringify(t)}`);
  }
  if (problems.length > 0) throw new Error(`reconciliation of a clean window was not clean: ${problems.join('; ')}`);
}

function assertRead(inputs: InputsOutcome, expected: SeedExpectations): void {
  if (inputs.streams !== expected.payments || inputs.events !== expected.events || inputs.balanceTransactions !== expected.balanceTransactions) {
    throw new Error(`the baseline read ${JSON.stringify(inputs)}, expected ${JSON.stringify(expected)}`);
  }
}

const ms = (n: number) => `${Math.round(n)} ms`;

/** What the run does up to each phase's last progress report (processes/reconciliation/run.ts). */
const PHASE_NAMES: Record<ReconciliationPhase, string> = {
  ledger: 'replay (listing alongside)',
  processor: 'rest of the listing',
  owners: 'find unmatched',
  healing: 'look up + heal',
  done: 'look up, match, record',
};
const phasesOf = (run: RunOutcome) => run.phases.map((p) => `${PHASE_NAMES[p.phase]} ${ms(p.ms)}`).join(', ');

export const benchmark: Benchmark = {
  id: ID,
  title: 'Reconciliation of a day of payments against the stripe-sandbox',
  async run(ctx) {
    const payments = ctx.smoke ? 500 : 100_000;
    const database = await ctx.freshDatabase('run');
    try {
      const expected = await seed(ctx, database.url, payments);
      const subject = await measure<RunOutcome>(database.url, 'reconcileWindow');
      assertClean(subject.result, expected);
      ctx.log(`run: ${subject.result.seconds.toFixed(2)} s; ${phasesOf(subject.result)}`);
      const baseline = await measure<InputsOutcome>(database.url, 'readInputs');
      assertRead(baseline.result, expected);
      ctx.log(`inputs: ${baseline.result.seconds.toFixed(2)} s; read ${ms(baseline.result.readMs)}, list ${ms(baseline.result.listMs)}`);
      return [
        compare({
          benchmark: ID,
          case: `${payments.toLocaleString('en-US')} payments, ${expected.balanceTransactions.toLocaleString('en-US')} balance transactions, 0 discrepancies`,
          subject: {
            name: 'ledger reconciliation run',
            value: payments / subject.result.seconds,
            unit: 'payments/s',
            peakRssMb: subject.peakRssMb,
            note: `${subject.result.seconds.toFixed(2)} s: ${phasesOf(subject.result)}`,
          },
          baseline: {
            name: 'read the streams + list the balance transactions',
            value: payments / baseline.result.seconds,
            unit: 'payments/s',
            peakRssMb: baseline.peakRssMb,
            note: `${baseline.result.seconds.toFixed(2)} s: read ${ms(baseline.result.readMs)}, list ${ms(baseline.result.listMs)}`,
          },
          settings: {
            payments,
            events: expected.events,
            balance_transactions: expected.balanceTransactions,
            window: `${WINDOW.from}/${WINDOW.to}`,
            store_read_batch: 5000,
            list_page_size: 100,
            list_slices: LIST_SLICES,
            seed: SEED,
          },
          notes: [
            'Seeded, not run through the saga: streams decided by the payment decider, Stripe objects built as the sandbox builds them; seeding time is not counted.',
            'Each stream is one append (the saga makes three to six); the sandbox holds no Stripe events or webhook rows for the seeded objects.',
            `Peak RSS is the working process plus the sandbox process that served it (sandbox: ${Math.round(subject.sandboxPeakRssMb)} / ${Math.round(baseline.sandboxPeakRssMb)} MiB).`,
            `Both read the streams while they list the window, in ${LIST_SLICES} slices of \`created\` at once, as the run does: the ratio is the cost of folding, matching and recording.`,
            'The run is measured first, on a cache as warm as the seeding left it; the baseline reads after it.',
          ],
        }),
      ];
    } finally {
      await database.drop();
    }
  },
};
