import { resolve } from 'node:path';
import { Pool } from 'pg';
import { auditStreams } from '../../../infra/read-side';
import { migrate } from '../../../infra/postgres/migrate';
import type { BenchContext, BenchRow, Benchmark } from '../harness';
import { compare, inFreshProcess } from '../harness';
import { seedPaymentLives, type Seeded } from './seed';
import type { Copied, CopyArgs, RebuildArgs, Rebuilt } from './work';

const WORK = resolve(__dirname, 'work.ts');
/** Appends are small transactions, and readAll's query plans depend on it: each seeded transaction holds this many events. */
const EVENTS_PER_TRANSACTION = 250;

interface Sizes {
  readonly events: number;
  readonly merchants: number;
  /** Events per rebuild transaction (and per readAll page): rebuildProjection's default. */
  readonly batch: number;
}

/**
 * BENCH_REBUILD_EVENTS and BENCH_REBUILD_BATCH set another size or batch, e.g. to compare two
 * versions of the projections quickly.
 */
function sizes(ctx: BenchContext): Sizes {
  const events = positiveInteger('BENCH_REBUILD_EVENTS', ctx.smoke ? 5_000 : 1_000_000);
  return { events, merchants: ctx.smoke ? 20 : 1_000, batch: positiveInteger('BENCH_REBUILD_BATCH', 5_000) };
}

function positiveInteger(variable: string, otherwise: number): number {
  const value = Number(process.env[variable] ?? otherwise);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${variable} must be a positive integer, got ${process.env[variable]}`);
  return value;
}

/**
 * Seeds the streams, checks their hash chains (all of them at smoke size, a sample otherwise), so
 * that what the rebuild reads is what the store would have written.
 */
async function seed(url: string, size: Sizes, ctx: BenchContext): Promise<Seeded> {
  const pool = new Pool({ connectionString: url, max: 4 });
  try {
    await migrate(pool);
    const started = performance.now();
    const seeded = await seedPaymentLives(pool, { events: size.events, merchants: size.merchants, eventsPerTransaction: EVENTS_PER_TRANSACTION, concurrency: 4 });
    ctx.log(`seeded ${seeded.events} events of ${seeded.payments} payments in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await auditSample(pool, ctx.smoke ? null : 20);
    return seeded;
  } finally {
    await pool.end();
  }
}

async function auditSample(pool: Pool, streams: number | null): Promise<void> {
  if (streams === null) {
    const report = await auditStreams(pool);
    if (report.failure) throw new Error(`seeded streams fail the audit: ${JSON.stringify(report.failure)}`);
    return;
  }
  const { rows } = await pool.query<{ stream_id: string }>('select stream_id from streams tablesample bernoulli (1) limit $1', [streams]);
  for (const { stream_id } of rows) {
    const report = await auditStreams(pool, { streamId: stream_id });
    if (report.failure) throw new Error(`seeded stream fails the audit: ${JSON.stringify(report.failure)}`);
  }
}

async function measure(projection: string, url: string, seeded: Seeded, size: Sizes, ctx: BenchContext): Promise<BenchRow> {
  const rebuilt = await inFreshProcess<Rebuilt>(WORK, 'rebuild', { url, projection, batch: size.batch } satisfies RebuildArgs);
  ctx.log(`${projection}: rebuilt ${rebuilt.result.events} events in ${rebuilt.result.seconds.toFixed(1)} s`);
  const copied = await inFreshProcess<Copied>(WORK, 'copy', { url, projection } satisfies CopyArgs);
  ctx.log(`${projection}: copied ${JSON.stringify(copied.result.rows)} in ${copied.result.seconds.toFixed(1)} s`);
  if (rebuilt.result.events !== seeded.events) throw new Error(`${projection}: rebuilt ${rebuilt.result.events} events of ${seeded.events}`);
  const rows = Object.entries(copied.result.rows).map(([table, n]) => `${n} ${table}`).join(', ');
  return compare({
    benchmark: 'rebuild',
    case: `${projection} projection, ${seeded.events.toLocaleString('en-US')} events`,
    subject: {
      name: `rebuildProjection(${projection})`,
      value: seeded.events / rebuilt.result.seconds,
      unit: 'events/s',
      peakRssMb: rebuilt.peakRssMb,
      note: `${rebuilt.result.seconds.toFixed(1)} s from the lock to the swap's commit`,
    },
    baseline: {
      name: 'COPY FROM STDIN of its rows',
      value: seeded.events / copied.result.seconds,
      unit: 'events/s',
      peakRssMb: copied.peakRssMb,
      note: `${rows} in ${copied.result.seconds.toFixed(1)} s, expressed per event that produced them`,
    },
    goal: 0.3,
    settings: {
      events: seeded.events,
      payments: seeded.payments,
      merchants: size.merchants,
      batch: size.batch,
      'events per seeded transaction': EVENTS_PER_TRANSACTION,
      lives: Object.entries(seeded.lives).map(([kind, n]) => `${kind} ${n}`).join(', '),
    },
    notes: [
      "A payment's events are spread over the store as live traffic leaves them: authorized at once, captured by hand or canceled a few hundred payments later, refunded a few thousand later, so most payments are written in two batches.",
      'The rebuild reads through the event store (readAll), folds with the domain, checks the ledger invariants per batch and builds the secondary indexes once its rows are in (counted in its time); COPY writes finished rows into tables that keep every index up to date, and checks only their constraints.',
    ],
  });
}

export const benchmark: Benchmark = {
  id: 'rebuild',
  title: 'Projection rebuild against a raw COPY of the same rows',
  async run(ctx) {
    const size = sizes(ctx);
    const database = await ctx.freshDatabase('rebuild');
    try {
      const seeded = await seed(database.url, size, ctx);
      const rows: BenchRow[] = [];
      for (const projection of ['payments', 'ledger']) rows.push(await measure(projection, database.url, seeded, size, ctx));
      return rows;
    } finally {
      await database.drop();
    }
  },
};
