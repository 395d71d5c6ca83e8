import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import type { Pool } from 'pg';
import type { EventStore, NewEvent, Position } from '../../../ports/event-store';
import { paymentStreamId } from '../../../commands/ids';
import { registerReadSideCommands } from '../../../infra/cli/read-side-commands';
import type { RebuildProgress } from '../../../projections';
import { ledgerProjection, paymentsProjection, rebuildProjection } from '../../../projections';
import { startReadSide, waitForProjections, type ReadSideHarness } from '../../support/read-side';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/** One payment's life in five events: requested, authorized, captured in part, refund requested and made. */
function life(paymentId: string, merchantId: string, n: number): NewEvent[] {
  const amount = 1000 + (n % 5000);
  const captured = amount - (n % 7);
  const fee = Math.floor((captured * 29) / 1000) + 30;
  const refund = 1 + (n % 100);
  const metadata = { correlation_id: 'seed', causation_id: 'seed', actor: 'seed', source: 'test' };
  const data: Record<string, unknown>[] = [
    {
      payment_id: paymentId, merchant_id: merchantId, customer_id: `cus_${n % 10}`, amount, currency: n % 2 ? 'usd' : 'eur',
      payment_method: 'pm_card_visa', capture_method: 'manual', description: null, metadata: {}, request_hash: 'h', requested_at: at(n % 3600),
    },
    { processor_payment_id: `pi_${n}`, amount_authorized: amount, authorized_at: at(1), capture_before: null },
    { capture_id: `cap_${n}`, amount_captured: captured, fee, net: captured - fee, processor_charge_id: `ch_${n}`, balance_transaction_id: `txn_${n}`, captured_at: at(2) },
    { refund_id: `ref_${n}`, amount: refund, reason: null, requested_at: at(3) },
    { refund_id: `ref_${n}`, amount: refund, processor_refund_id: `re_${n}`, balance_transaction_id: `txn_re_${n}`, refunded_at: at(4) },
  ];
  const types = ['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured', 'RefundRequested', 'PaymentRefunded'];
  return types.map((type, i) => ({ type, data: data[i]!, metadata }));
}

async function seed(store: EventStore, merchantId: string, payments: number): Promise<{ ids: string[]; last: Position }> {
  const ids = Array.from({ length: payments }, () => randomUUID());
  let last: Position = { commit: 0n, prepare: 0n };
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const n = next++;
        const { position } = await store.append(paymentStreamId(ids[n]!), life(ids[n]!, merchantId, n), 'no_stream');
        if (position.commit > last.commit || (position.commit === last.commit && position.prepare > last.prepare)) last = position;
      }
    }),
  );
  return { ids, last };
}

async function dump(pool: Pool, merchantId: string): Promise<string> {
  const { rows } = await pool.query<{ dump: string }>(
    `select jsonb_build_object(
       'payments', (select coalesce(jsonb_agg(to_jsonb(p) order by p.id), '[]') from payments p where p.merchant_id = $1),
       'ledger_payments', (select coalesce(jsonb_agg(to_jsonb(l) order by l.payment_id), '[]') from ledger_payments l where l.merchant_id = $1),
       'ledger_entries', (select coalesce(jsonb_agg(to_jsonb(e) order by e.id), '[]') from ledger_entries e
                           where e.payment_id in (select payment_id from ledger_payments where merchant_id = $1)),
       'ledger_accounts', (select coalesce(jsonb_agg(to_jsonb(a) order by a.currency), '[]') from ledger_accounts a where a.account = $2)
     )::text as dump`,
    [merchantId, `merchant_payable:${merchantId}`],
  );
  return rows[0]!.dump;
}

/** Each index of the tables, without the names a rebuild may change. */
async function indexDefinitions(pool: Pool, tables: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ definition: string }>(
    `select tablename || ': ' || regexp_replace(indexdef, ' INDEX \\S+ ON \\S+ ', ' INDEX ON ') as definition
       from pg_indexes where schemaname = current_schema() and tablename = any($1) order by 1`,
    [tables],
  );
  return rows.map((row) => row.definition);
}

describe('rebuilding a projection', () => {
  let side: ReadSideHarness;

  beforeAll(async () => {
    side = await startReadSide({ isolated: true });
  });
  afterAll(() => side.close());

  describe('when the live model is up to date and keeps serving', () => {
    it('swaps in identical tables, reports progress, and the live API answers throughout', async () => {
      const merchantId = `m_${randomUUID().slice(0, 8)}`;
      const { key } = await side.write.newKey(merchantId, ['payments:read']);
      const { ids, last } = await seed(side.write.store, merchantId, 300);
      await waitForProjections(side.pool, last);
      const before = await dump(side.pool, merchantId);
      expect(JSON.parse(before).payments).toHaveLength(300);

      const progress: RebuildProgress[] = [];
      let reads = 0;
      let serving = true;
      const reader = (async () => {
        while (serving) {
          const response = await side.get(`/v1/payments/${ids[reads % ids.length]}`, key);
          expect(response.status).toBe(200);
          reads += 1;
        }
      })();
      try {
        const result = await rebuildProjection(side.pool, side.write.store, paymentsProjection, {
          batch: 200,
          waitForOtherRebuild: true,
          onProgress: (p) => progress.push(p),
        });
        expect(result.events).toBeGreaterThanOrEqual(1500);
        await rebuildProjection(side.pool, side.write.store, ledgerProjection, { batch: 200, waitForOtherRebuild: true });
      } finally {
        serving = false;
        await reader;
      }
      expect(reads).toBeGreaterThan(0);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
      expect(progress[0]!.total).toBeGreaterThanOrEqual(1500);
      expect(progress[progress.length - 1]!.eventsPerSecond).toBeGreaterThan(0);
      expect(await dump(side.pool, merchantId)).toBe(before);

      // The runners carry on after the swap.
      const more = await seed(side.write.store, merchantId, 3);
      await waitForProjections(side.pool, more.last);
      expect(JSON.parse(await dump(side.pool, merchantId)).payments).toHaveLength(303);
    });

    it('runs from the CLI and prints plain progress lines when stdout is not a terminal', async () => {
      let out = '';
      const program = new Command('ledger').exitOverride();
      registerReadSideCommands(program, {
        openDatabase: async () => ({ pool: side.pool, close: async () => undefined }),
        stdout: { write: (text: string) => (out += text), isTTY: false },
      });
      await program.parseAsync(['node', 'ledger', 'projections', 'rebuild', 'payments', '--batch', '500']);
      expect(out).toMatch(/^payments: \d+\/\d+ events, \d+ events\/s, ETA /m);
      expect(out).toMatch(/^rebuilt payments: \d+ events in [\d.]+ s \(\d+ events\/s\)$/m);
    });
  });

  describe('when the rebuild builds its tables without their secondary indexes', () => {
    it('swaps in tables with every index the live ones had', async () => {
      const tables = [...paymentsProjection.tables, ...ledgerProjection.tables];
      const before = await indexDefinitions(side.pool, tables);
      expect(before.length).toBeGreaterThan(tables.length);
      for (const projection of [paymentsProjection, ledgerProjection]) {
        await rebuildProjection(side.pool, side.write.store, projection, { waitForOtherRebuild: true });
      }
      expect(await indexDefinitions(side.pool, tables)).toEqual(before);
    });
  });

  describe('when the batches end in other places', () => {
    it('produces the same rows', async () => {
      const merchantId = `m_${randomUUID().slice(0, 8)}`;
      await seed(side.write.store, merchantId, 40);
      const dumps: string[] = [];
      for (const batch of [7, 5000]) {
        await rebuildProjection(side.pool, side.write.store, paymentsProjection, { batch, waitForOtherRebuild: true });
        await rebuildProjection(side.pool, side.write.store, ledgerProjection, { batch, waitForOtherRebuild: true });
        dumps.push(await dump(side.pool, merchantId));
      }
      expect(JSON.parse(dumps[0]!).ledger_entries.length).toBeGreaterThan(100);
      expect(dumps[0]).toBe(dumps[1]);
    });
  });
});
