import type { RecordedEvent } from '../ports/event-store';
import type { Projection, ProjectionTx } from './projection';
import { batchedProjection } from './projection';
import type { LedgerEntry, LedgerPayment } from './ledger.postings';
import { netBalanceDeltas, postingsFor } from './ledger.postings';
import { PAYMENT_STREAM_PREFIX, paymentIdOfStream } from './payments.projection';

/** One batch of the ledger projection, folded in memory between `load` and `write`. */
export interface LedgerBatch {
  /** Every payment the batch's events belong to, as the ledger knows it so far; null before its first event. */
  readonly payments: Map<string, LedgerPayment | null>;
  /** The payments whose ledger row the batch changed. */
  readonly changed: Set<string>;
  /** The entries the batch posts, in the order of its events. */
  readonly entries: LedgerEntry[];
}

interface LedgerPaymentRow {
  payment_id: string;
  merchant_id: string;
  currency: string;
  revision: string;
  pending_entry_id: string | null;
  pending_amount: string;
}

async function loadLedgerPayments(events: readonly RecordedEvent[], tx: ProjectionTx): Promise<LedgerBatch> {
  const ids = [...new Set(events.map((event) => paymentIdOfStream(event.streamId)))];
  // Rows are locked in id order, so that two writers of overlapping batches cannot deadlock.
  const { rows } = await tx.query<LedgerPaymentRow>(
    `select payment_id, merchant_id, currency, revision, pending_entry_id, pending_amount
       from ${tx.table('ledger_payments')} where payment_id = any($1::text[]) order by payment_id for update`,
    [ids],
  );
  const batch: LedgerBatch = { payments: new Map(ids.map((id) => [id, null])), changed: new Set(), entries: [] };
  for (const row of rows) {
    batch.payments.set(row.payment_id, {
      paymentId: row.payment_id,
      merchantId: row.merchant_id,
      currency: row.currency,
      revision: Number(row.revision),
      pendingEntryId: row.pending_entry_id,
      pendingAmount: Number(row.pending_amount),
    });
  }
  return batch;
}

/** Folds one event into the batch, in memory: the payment's new state and the entries it posts. */
export function foldLedgerEvent(batch: LedgerBatch, event: RecordedEvent): void {
  const paymentId = paymentIdOfStream(event.streamId);
  const previous = batch.payments.get(paymentId);
  if (previous === undefined) throw new Error(`ledger projection: ${event.streamId} is not in the batch that was loaded`);
  const postings = postingsFor(previous, event, paymentId);
  if (!postings) return;
  batch.payments.set(paymentId, postings.payment);
  batch.changed.add(paymentId);
  batch.entries.push(...postings.entries);
}

/** The batch's entries, then the accounts' balances, then what the ledger keeps of each payment. */
async function writeLedger(batch: LedgerBatch, tx: ProjectionTx): Promise<void> {
  await recordEntries(tx, batch.entries);
  await moveBalances(tx, batch.entries);
  await saveLedgerPayments(tx, [...batch.changed].map((id) => batch.payments.get(id)!));
}

// Each statement takes its rows as one JSON document, as the payments projection does.

async function recordEntries(tx: ProjectionTx, entries: readonly LedgerEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({
    id: e.id, event_id: e.eventId, seq: e.seq, payment_id: e.paymentId, kind: e.kind, phase: e.phase, pending_entry_id: e.pendingEntryId,
    debit_account: e.debitAccount, credit_account: e.creditAccount, amount: e.amount, currency: e.currency,
    commit_position: e.position.commit.toString(), prepare_position: e.position.prepare.toString(), created_at: e.createdAt,
  }));
  // No "on conflict": the revision check already skips applied events, so an entry id seen before
  // would mean it did not, and the primary key's violation then rolls the batch back.
  await tx.query(
    `insert into ${tx.table('ledger_entries')} (id, event_id, seq, payment_id, kind, phase, pending_entry_id, debit_account,
       credit_account, amount, currency, commit_position, prepare_position, created_at)
     select id, event_id, seq, payment_id, kind, phase, pending_entry_id, debit_account, credit_account, amount, currency,
       commit_position, prepare_position, created_at
       from jsonb_to_recordset($1::jsonb) as r(id uuid, event_id uuid, seq smallint, payment_id text, kind text, phase text,
         pending_entry_id uuid, debit_account text, credit_account text, amount bigint, currency text, commit_position numeric,
         prepare_position bigint, created_at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

/**
 * Adds the batch's net change to each account it touches, in one statement: the accounts that
 * exist are moved, the others are opened with the change as their balance. (A plain upsert would
 * not do: the columns' checks reject an insert carrying a negative change even when it would have
 * become an update.) The checks then hold each balance after the batch, never below zero.
 */
async function moveBalances(tx: ProjectionTx, entries: readonly LedgerEntry[]): Promise<void> {
  const deltas = netBalanceDeltas(entries);
  if (deltas.length === 0) return;
  const accounts = tx.table('ledger_accounts');
  await tx.query(
    `with delta as (
       select * from jsonb_to_recordset($1::jsonb)
         as d(account text, currency text, debits_pending bigint, credits_pending bigint, debits_posted bigint, credits_posted bigint)
     ), moved as (
       update ${accounts} a set debits_pending = a.debits_pending + d.debits_pending, credits_pending = a.credits_pending + d.credits_pending,
         debits_posted = a.debits_posted + d.debits_posted, credits_posted = a.credits_posted + d.credits_posted
       from delta d where a.account = d.account and a.currency = d.currency
       returning a.account, a.currency
     )
     insert into ${accounts} (account, currency, debits_pending, credits_pending, debits_posted, credits_posted)
     select * from delta d where not exists (select 1 from moved m where m.account = d.account and m.currency = d.currency)`,
    [
      JSON.stringify(
        deltas.map((d) => ({
          account: d.account, currency: d.currency, debits_pending: d.debitsPending, credits_pending: d.creditsPending,
          debits_posted: d.debitsPosted, credits_posted: d.creditsPosted,
        })),
      ),
    ],
  );
}

async function saveLedgerPayments(tx: ProjectionTx, payments: readonly LedgerPayment[]): Promise<void> {
  if (payments.length === 0) return;
  const rows = payments.map((p) => ({
    payment_id: p.paymentId, merchant_id: p.merchantId, currency: p.currency, revision: p.revision, pending_entry_id: p.pendingEntryId,
    pending_amount: p.pendingAmount,
  }));
  await tx.query(
    `insert into ${tx.table('ledger_payments')} (payment_id, merchant_id, currency, revision, pending_entry_id, pending_amount)
     select payment_id, merchant_id, currency, revision, pending_entry_id, pending_amount
       from jsonb_to_recordset($1::jsonb)
         as r(payment_id text, merchant_id text, currency text, revision bigint, pending_entry_id uuid, pending_amount bigint)
     on conflict (payment_id) do update set revision = excluded.revision, pending_entry_id = excluded.pending_entry_id,
       pending_amount = excluded.pending_amount`,
    [JSON.stringify(rows)],
  );
}

/**
 * The double-entry ledger (DESIGN section 8). The accounts' check constraints forbid a negative
 * column, and `assertInvariants` checks, before each batch commits, that in every currency the
 * accounts sum to zero, pending and posted: a failure rolls the batch back.
 */
export const ledgerProjection: Projection = batchedProjection(
  {
    name: 'ledger',
    tables: ['ledger_payments', 'ledger_accounts', 'ledger_entries'],
    streamPrefix: PAYMENT_STREAM_PREFIX,
    async assertInvariants(tx) {
      const { rows } = await tx.query<{ currency: string; pending: string; posted: string }>(
        `select currency, sum(debits_pending - credits_pending)::text as pending, sum(debits_posted - credits_posted)::text as posted
           from ${tx.table('ledger_accounts')} group by currency
         having sum(debits_pending - credits_pending) <> 0 or sum(debits_posted - credits_posted) <> 0`,
      );
      if (rows.length > 0) throw new Error(`ledger invariant violated: accounts do not sum to zero: ${JSON.stringify(rows)}`);
    },
  },
  { load: loadLedgerPayments, fold: foldLedgerEvent, write: writeLedger },
);
