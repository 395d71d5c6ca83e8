// The two measured pieces of work, each run by index.ts in a fresh process (inFreshProcess), so
// that the time and the peak RSS they report are theirs alone.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import type Stripe from 'stripe';
import type { EventStore, Position } from '../../../ports/event-store';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { createStripeClient } from '../../../infra/stripe/client';
import { createStripeGateway } from '../../../processes/stripe-gateway';
import { createdSlices, executeRun, LIST_SLICES } from '../../../processes/reconciliation';
import type { ReconciliationPhase, ReconciliationWindow } from '../../../processes/reconciliation';

export interface WorkInput {
  readonly databaseUrl: string;
  readonly sandboxPort: number;
  readonly window: ReconciliationWindow;
}

export interface RunOutcome {
  readonly seconds: number;
  readonly status: string;
  readonly summary: {
    readonly payments: number;
    readonly events: number;
    readonly balanceTransactions: number;
    readonly matched: number;
    readonly totals: readonly { currency: string; ledger_net: number; processor_net: number; drift: number }[];
  };
  readonly discrepancies: number;
  readonly unresolved: number;
  /** Milliseconds spent in each phase, in the order the run went through them ('done': looking up, matching, recording). */
  readonly phases: readonly { phase: ReconciliationPhase; ms: number }[];
}

export interface InputsOutcome {
  readonly seconds: number;
  readonly events: number;
  readonly streams: number;
  readonly balanceTransactions: number;
  /** From the start, each; the two run at the same time. */
  readonly readMs: number;
  readonly listMs: number;
}

const POOL_SIZE = 10;
const READ_BATCH = 5000;
const PAGE_SIZE = 100;

const stripeOn = (port: number) => createStripeClient({ secretKey: 'sk_test_bench', sandbox: { host: '127.0.0.1', port } });

/** The subject: one reconciliation run over the window, as the CLI and the daily job run it. */
export async function reconcileWindow(input: WorkInput): Promise<RunOutcome> {
  const pool = new Pool({ connectionString: input.databaseUrl, max: POOL_SIZE });
  const gateway = createStripeGateway(stripeOn(input.sandboxPort));
  // Progress comes at the end of each unit of work (a batch read, a page listed), so a phase is
  // timed from the last report of the phase before it to its own last report.
  const lastReport = new Map<ReconciliationPhase, number>();
  const onProgress = ({ phase }: { phase: ReconciliationPhase }) => void lastReport.set(phase, performance.now());
  try {
    const started = performance.now();
    const run = await executeRun(
      { store: createPostgresEventStore(pool), gateway, clock: () => new Date(), onProgress },
      { runId: randomUUID(), window: input.window, trigger: 'cli', actor: 'bench' },
    );
    const seconds = (performance.now() - started) / 1000;
    let previous = started;
    const phases = [...lastReport].map(([phase, at]) => {
      const ms = at - previous;
      previous = at;
      return { phase, ms };
    });
    const summary = run.summary!;
    return {
      seconds,
      status: run.status,
      summary: {
        payments: summary.payments,
        events: summary.events,
        balanceTransactions: summary.balance_transactions,
        matched: summary.matched,
        totals: summary.totals,
      },
      discrepancies: run.discrepancies.length,
      unresolved: run.unresolved,
      phases,
    };
  } finally {
    gateway.shutdown();
    await pool.end();
  }
}

/**
 * The baseline: the run's two inputs, read as the run reads them and nothing else. Every payment
 * stream through the store (readAll by prefix, in the same batches) while every balance transaction
 * of the window is listed through the SDK's auto-pagination, at Stripe's largest page, in the same
 * slices of the window; no decoding, no matching, nothing written.
 */
export async function readInputs(input: WorkInput): Promise<InputsOutcome> {
  const pool = new Pool({ connectionString: input.databaseUrl, max: POOL_SIZE });
  const stripe = stripeOn(input.sandboxPort);
  try {
    const started = performance.now();
    const timed = async <T>(work: Promise<T>) => ({ result: await work, ms: performance.now() - started });
    const [read, listed] = await Promise.all([
      timed(readPaymentStreams(createPostgresEventStore(pool))),
      timed(Promise.all(createdSlices(input.window, LIST_SLICES).map((created) => countListed(stripe, created)))),
    ]);
    return {
      seconds: (performance.now() - started) / 1000,
      events: read.result.events,
      streams: read.result.streams,
      balanceTransactions: listed.result.reduce((total, n) => total + n, 0),
      readMs: read.ms,
      listMs: listed.ms,
    };
  } finally {
    await pool.end();
  }
}

async function readPaymentStreams(store: EventStore): Promise<{ events: number; streams: number }> {
  const streams = new Set<string>();
  let events = 0;
  let after: Position | null = null;
  for (;;) {
    const page = await store.readAll(after, { batch: READ_BATCH, streamPrefix: 'payment-' });
    for (const event of page) streams.add(event.streamId);
    events += page.length;
    if (page.length < READ_BATCH) return { events, streams: streams.size };
    after = page[page.length - 1]!.position;
  }
}

async function countListed(stripe: Stripe, created: { gte: number; lt: number }): Promise<number> {
  let listed = 0;
  for await (const _txn of stripe.balanceTransactions.list({ created, limit: PAGE_SIZE })) listed += 1;
  return listed;
}
