import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Pool } from 'pg';
import type { EventStore, Position } from '../../../ports/event-store';
import type { PaymentCommand } from '../../../domain/payment.commands';
import { decide, foldPayment, isRejection } from '../../../domain/payment.decide';
import { isPayment } from '../../../domain/payment.state';
import { paymentStreamId } from '../../../commands/ids';
import { toNewEvents, toPaymentEvent } from '../../../commands/payment-stream';
import { paymentRepresentation } from '../../../write-api/representation';
import { toRepresentation } from '../../../read-api/payments.queries';
import { ledgerProjection, paymentsProjection, rebuildProjection } from '../../../projections';
import { commandSequenceArb } from '../../unit/domain/support/arbitraries';
import { lastPositionOf, startReadSide, waitForProjections, type ReadSideHarness } from '../../support/read-side';

const CURRENCIES = ['usd', 'eur', 'jpy'] as const;

/** Runs a command against the stream as it stands and appends what `decide` says; rejections append nothing. */
async function execute(store: EventStore, paymentId: string, command: PaymentCommand): Promise<void> {
  const streamId = paymentStreamId(paymentId);
  const recorded = await store.read(streamId);
  const state = foldPayment(recorded.map(toPaymentEvent));
  const decision = decide(command, state);
  if (isRejection(decision) || decision.events.length === 0) return;
  const metadata = { correlation_id: 'model', causation_id: 'model', actor: 'model', source: 'test' };
  const revision = recorded.length - 1;
  await store.append(streamId, toNewEvents(streamId, revision + 1, decision.events, metadata), revision === -1 ? 'no_stream' : revision);
}

/** Every read model row that belongs to this merchant, as canonical JSON text. */
async function dump(pool: Pool, merchantId: string, paymentIds: readonly string[]): Promise<string> {
  const { rows } = await pool.query<{ dump: unknown }>(
    `select jsonb_build_object(
       'payments', (select coalesce(jsonb_agg(to_jsonb(p) order by p.id), '[]') from payments p where p.merchant_id = $1),
       'ledger_payments', (select coalesce(jsonb_agg(to_jsonb(l) order by l.payment_id), '[]') from ledger_payments l where l.payment_id = any($2)),
       'ledger_entries', (select coalesce(jsonb_agg(to_jsonb(e) order by e.id), '[]') from ledger_entries e where e.payment_id = any($2)),
       'ledger_accounts', (select coalesce(jsonb_agg(to_jsonb(a) order by a.currency), '[]') from ledger_accounts a where a.account = $3)
     )::text as dump`,
    [merchantId, paymentIds, `merchant_payable:${merchantId}`],
  );
  return rows[0]!.dump as string;
}

describe('the read models, against a fold of the streams', () => {
  let side: ReadSideHarness;

  beforeAll(async () => {
    side = await startReadSide({ isolated: true });
  });
  afterAll(() => side.close());

  const scenario = fc.record({
    lives: fc.array(fc.tuple(commandSequenceArb, fc.constantFrom(...CURRENCIES)), { minLength: 1, maxLength: 3 }),
    schedule: fc.array(fc.nat({ max: 2 }), { maxLength: 120 }),
  });

  it('payments equal the fold of each stream, the ledger balances, and a rebuild changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ lives, schedule }) => {
        const { pool, store } = side.write;
        const merchantId = `m_${randomUUID().slice(0, 8)}`;
        const paymentIds = lives.map(() => randomUUID());
        const queues = lives.map(([commands, currency], i) =>
          commands.map((command): PaymentCommand =>
            command.type === 'RequestPayment' ? { ...command, paymentId: paymentIds[i]!, merchantId, currency } : command,
          ),
        );
        // Interleave the payments' lives as the schedule says, then whatever is left.
        for (const pick of schedule) {
          const queue = queues[pick % queues.length]!;
          const command = queue.shift();
          if (command) await execute(store, paymentIds[pick % queues.length]!, command);
        }
        for (const [i, queue] of queues.entries()) for (const command of queue) await execute(store, paymentIds[i]!, command);

        const last: Position | null = await lastPositionOf(pool, paymentIds.map(paymentStreamId));
        if (last) await waitForProjections(pool, last);

        // payments == fold of each stream, in the representation the write API answers with.
        const { rows } = await pool.query(
          `select *, commit_position::text, prepare_position::text from payments where merchant_id = $1 order by id`,
          [merchantId],
        );
        const expected = [];
        for (const id of [...paymentIds].sort()) {
          const recorded = await store.read(paymentStreamId(id));
          const state = foldPayment(recorded.map(toPaymentEvent));
          if (!isPayment(state)) continue;
          const lastEvent = recorded[recorded.length - 1]!;
          expected.push(paymentRepresentation(state, lastEvent.revision, lastEvent.position));
        }
        expect(rows.map(toRepresentation)).toEqual(expected);

        // The ledger: every entry balances, the merchant's payable holds what the payments say,
        // and in every currency the accounts sum to zero.
        const entries = await pool.query('select * from ledger_entries where payment_id = any($1)', [paymentIds]);
        for (const entry of entries.rows) {
          expect(entry.debit_account).not.toBe(entry.credit_account);
          expect(Number(entry.amount)).toBeGreaterThan(0);
        }
        const accounts = await pool.query(
          `select currency, (credits_posted - debits_posted)::int as posted, (credits_pending - debits_pending)::int as pending
             from ledger_accounts where account = $1 order by currency`,
          [`merchant_payable:${merchantId}`],
        );
        const owed = new Map<string, { posted: number; pending: number }>();
        for (const payment of expected) {
          const sums = owed.get(payment.currency) ?? { posted: 0, pending: 0 };
          sums.posted += (payment.net ?? 0) - payment.amount_refunded;
          owed.set(payment.currency, sums);
        }
        const held = await pool.query<{ currency: string; held: number }>(
          'select currency, sum(pending_amount)::int as held from ledger_payments where payment_id = any($1) group by currency',
          [paymentIds],
        );
        for (const row of held.rows) owed.get(row.currency)!.pending = row.held;
        for (const account of accounts.rows) expect(owed.get(account.currency)).toEqual({ posted: account.posted, pending: account.pending });
        const unbalanced = await pool.query(
          `select currency from ledger_accounts group by currency
            having sum(debits_pending - credits_pending) <> 0 or sum(debits_posted - credits_posted) <> 0`,
        );
        expect(unbalanced.rows).toEqual([]);

        // A rebuild from the start gives the same rows.
        const before = await dump(pool, merchantId, paymentIds);
        await rebuildProjection(pool, store, paymentsProjection, { waitForOtherRebuild: true, batch: 500 });
        await rebuildProjection(pool, store, ledgerProjection, { waitForOtherRebuild: true, batch: 500 });
        expect(await dump(pool, merchantId, paymentIds)).toBe(before);
      }),
      { numRuns: 8 },
    );
  });
});
