import type { Projection, ProjectionTx } from './projection';
import type { LedgerEntry, LedgerPayment } from './ledger.postings';
import { balanceDeltas, postingsFor } from './ledger.postings';
import { PAYMENT_STREAM_PREFIX, paymentIdOfStream } from './payments.projection';

interface LedgerPaymentRow {
  payment_id: string;
  merchant_id: string;
  currency: string;
  revision: string;
  pending_entry_id: string | null;
  pending_amount: string;
}

async function loadLedgerPayment(tx: ProjectionTx, paymentId: string): Promise<LedgerPayment | null> {
  const { rows } = await tx.query<LedgerPaymentRow>(
    `select payment_id, merchant_id, currency, revision, pending_entry_id, pending_amount
       from ${tx.table('ledger_payments')} where payment_id = $1 for update`,
    [paymentId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    currency: row.currency,
    revision: Number(row.revision),
    pendingEntryId: row.pending_entry_id,
    pendingAmount: Number(row.pending_amount),
  };
}

async function saveLedgerPayment(tx: ProjectionTx, payment: LedgerPayment): Promise<void> {
  await tx.query(
    `insert into ${tx.table('ledger_payments')} (payment_id, merchant_id, currency, revision, pending_entry_id, pending_amount)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (payment_id) do update set revision = excluded.revision, pending_entry_id = excluded.pending_entry_id,
       pending_amount = excluded.pending_amount`,
    [payment.paymentId, payment.merchantId, payment.currency, payment.revision, payment.pendingEntryId, payment.pendingAmount],
  );
}

async function recordEntry(tx: ProjectionTx, entry: LedgerEntry): Promise<void> {
  const inserted = await tx.query(
    `insert into ${tx.table('ledger_entries')} (id, event_id, seq, payment_id, kind, phase, pending_entry_id, debit_account,
       credit_account, amount, currency, commit_position, prepare_position, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     on conflict (id) do nothing`,
    [
      entry.id, entry.eventId, entry.seq, entry.paymentId, entry.kind, entry.phase, entry.pendingEntryId, entry.debitAccount,
      entry.creditAccount, entry.amount, entry.currency, entry.position.commit.toString(), entry.position.prepare.toString(),
      entry.createdAt,
    ],
  );
  // The revision check already skips applied events; an entry id seen before would mean it did not.
  if (inserted.rowCount !== 1) throw new Error(`ledger entry ${entry.id} recorded twice`);
  for (const delta of balanceDeltas(entry)) {
    // The row is made first and then moved: an insert carrying a negative delta would fail the
    // columns' checks even when it would have become an update.
    await tx.query(`insert into ${tx.table('ledger_accounts')} (account, currency) values ($1, $2) on conflict do nothing`, [
      delta.account,
      delta.currency,
    ]);
    await tx.query(
      `update ${tx.table('ledger_accounts')} set debits_pending = debits_pending + $3, credits_pending = credits_pending + $4,
         debits_posted = debits_posted + $5, credits_posted = credits_posted + $6
       where account = $1 and currency = $2`,
      [delta.account, delta.currency, delta.debitsPending, delta.creditsPending, delta.debitsPosted, delta.creditsPosted],
    );
  }
}

/**
 * The double-entry ledger (DESIGN section 8). The accounts' check constraints forbid a negative
 * column, and `assertInvariants` checks, before each batch commits, that in every currency the
 * accounts sum to zero, pending and posted: a failure rolls the batch back.
 */
export const ledgerProjection: Projection = {
  name: 'ledger',
  tables: ['ledger_payments', 'ledger_accounts', 'ledger_entries'],
  streamPrefix: PAYMENT_STREAM_PREFIX,
  async apply(event, tx) {
    const paymentId = paymentIdOfStream(event.streamId);
    const postings = postingsFor(await loadLedgerPayment(tx, paymentId), event, paymentId);
    if (!postings) return;
    for (const entry of postings.entries) await recordEntry(tx, entry);
    await saveLedgerPayment(tx, postings.payment);
  },
  async assertInvariants(tx) {
    const { rows } = await tx.query<{ currency: string; pending: string; posted: string }>(
      `select currency, sum(debits_pending - credits_pending)::text as pending, sum(debits_posted - credits_posted)::text as posted
         from ${tx.table('ledger_accounts')} group by currency
       having sum(debits_pending - credits_pending) <> 0 or sum(debits_posted - credits_posted) <> 0`,
    );
    if (rows.length > 0) throw new Error(`ledger invariant violated: accounts do not sum to zero: ${JSON.stringify(rows)}`);
  },
};
