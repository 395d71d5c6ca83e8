import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createStripeClient } from '../../../infra/stripe/client';
import { createStripeGateway } from '../../../processes/stripe-gateway';
import type { StripeGateway } from '../../../processes/stripe-gateway';
import { executeRun } from '../../../processes/reconciliation';
import type { ReconciliationWindow, RunView } from '../../../processes/reconciliation';
import type { SagaHarness } from '../../support/saga';

/** A gateway of reconciliation's own on the harness's sandbox, as the CLI and the job make one. */
export function reconciliationGateway(saga: SagaHarness): StripeGateway {
  const port = Number(new URL(saga.sandboxUrl).port);
  return createStripeGateway(createStripeClient({ secretKey: 'sk_test_reconciliation', sandbox: { host: '127.0.0.1', port } }));
}

export async function reconcile(saga: SagaHarness, gateway: StripeGateway, window: ReconciliationWindow): Promise<RunView> {
  await untilReadable(saga.pool);
  return executeRun({ store: saga.store, gateway, clock: () => new Date() }, { runId: randomUUID(), window, trigger: 'cli', actor: 'test' });
}

/**
 * Waits until readAll shows every event committed so far. It holds back the events of transactions
 * newer than the oldest one still running anywhere on the server (pg_snapshot_xmin), so on a server
 * shared with other work, a run started just after a test's last write might not see it yet.
 */
export async function untilReadable(pool: Pool, timeoutMs = 30_000): Promise<void> {
  const { rows } = await pool.query<{ last: string }>('select transaction_id::text as last from events order by transaction_id desc limit 1');
  const last = rows[0]?.last;
  if (!last) return;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const { rows: seen } = await pool.query<{ readable: boolean }>('select pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 as readable', [last]);
    if (seen[0]!.readable) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`events of transaction ${last} are still held back from readAll after ${timeoutMs} ms`);
}

export const untilNextSecond = () => new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)));
const thisSecond = () => new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();

/**
 * A window of whole seconds around what `work` does, so each test reconciles only the objects it
 * made: Stripe's `created` has a resolution of one second.
 */
export async function inOwnWindow(work: () => Promise<void>): Promise<ReconciliationWindow> {
  await untilNextSecond();
  const from = thisSecond();
  await work();
  await untilNextSecond();
  return { from, to: thisSecond() };
}

/** The balance transactions the sandbox holds for a Stripe object (a charge or a refund). */
export async function balanceTransactionsOf(pool: Pool, sourceId: string): Promise<{ id: string; data: any }[]> {
  const { rows } = await pool.query(
    "select id, data from stripe_sandbox.objects where object = 'balance_transaction' and data ->> 'source' = $1 order by seq",
    [sourceId],
  );
  return rows;
}

/** Changes fields of an object straight in the sandbox's table: what Stripe says, without the ledger hearing. */
export async function editSandboxObject(pool: Pool, id: string, changes: Record<string, unknown>): Promise<void> {
  const { rowCount } = await pool.query('update stripe_sandbox.objects set data = data || $2::jsonb where id = $1', [id, JSON.stringify(changes)]);
  if (rowCount !== 1) throw new Error(`no sandbox object ${id}`);
}

/** The report without what differs from run to run (ids, times, revisions). */
export function reportOf(run: RunView) {
  return {
    summary: run.summary,
    unresolved: run.unresolved,
    discrepancies: run.discrepancies.map(({ discrepancy_id: _id, resolution: _r, ...rest }) => rest),
  };
}
