import type { Pool } from 'pg';
import type { ListEntriesQuery } from './params';
import { toSafeInteger } from './payments.queries';

export interface AccountBalance {
  readonly currency: string;
  readonly debits_pending: number;
  readonly credits_pending: number;
  readonly debits_posted: number;
  readonly credits_posted: number;
}

export async function accountBalances(pool: Pool, account: string, currency?: string): Promise<AccountBalance[]> {
  const { rows } = await pool.query<Record<'currency' | 'debits_pending' | 'credits_pending' | 'debits_posted' | 'credits_posted', string>>(
    `select currency, debits_pending, credits_pending, debits_posted, credits_posted from ledger_accounts
      where account = $1 and ($2::text is null or currency = $2) order by currency`,
    [account, currency ?? null],
  );
  return rows.map((row) => ({
    currency: row.currency,
    debits_pending: toSafeInteger(row.debits_pending),
    credits_pending: toSafeInteger(row.credits_pending),
    debits_posted: toSafeInteger(row.debits_posted),
    credits_posted: toSafeInteger(row.credits_posted),
  }));
}

export interface EntryRepresentation {
  readonly id: string;
  readonly object: 'ledger_entry';
  readonly payment_id: string;
  readonly kind: string;
  readonly phase: string;
  readonly pending_entry_id: string | null;
  readonly debit_account: string;
  readonly credit_account: string;
  readonly amount: number;
  readonly currency: string;
  readonly position: string;
  readonly created_at: string;
}

interface EntryRow {
  id: string;
  payment_id: string;
  kind: string;
  phase: string;
  pending_entry_id: string | null;
  debit_account: string;
  credit_account: string;
  amount: string;
  currency: string;
  commit_position: string;
  prepare_position: string;
  seq: number;
  created_at: Date;
}

const toEntry = (row: EntryRow): EntryRepresentation => ({
  id: row.id,
  object: 'ledger_entry',
  payment_id: row.payment_id,
  kind: row.kind,
  phase: row.phase,
  pending_entry_id: row.pending_entry_id,
  debit_account: row.debit_account,
  credit_account: row.credit_account,
  amount: toSafeInteger(row.amount),
  currency: row.currency,
  position: `${row.commit_position}:${row.prepare_position}`,
  created_at: row.created_at.toISOString(),
});

export type EntryPage = { readonly data: EntryRepresentation[]; readonly has_more: boolean } | { readonly cursorNotFound: true };

/** The entries on either side of `account`, newest first in event-store order. */
export async function listEntries(pool: Pool, account: string, query: ListEntriesQuery): Promise<EntryPage> {
  const limit = query.limit ?? 10;
  const columns = `id, payment_id, kind, phase, pending_entry_id, debit_account, credit_account, amount, currency,
    commit_position::text, prepare_position::text, seq, created_at`;
  const params: unknown[] = [account, query.currency ?? null];
  let after = '';
  if (query.starting_after) {
    const cursor = await pool.query<{ commit_position: string; prepare_position: string; seq: number }>(
      `select commit_position::text, prepare_position::text, seq from ledger_entries
        where id = $1 and (debit_account = $2 or credit_account = $2)`,
      [query.starting_after, account],
    );
    const c = cursor.rows[0];
    if (!c) return { cursorNotFound: true };
    params.push(c.commit_position, c.prepare_position, c.seq);
    after = 'and (commit_position, prepare_position, seq) < ($3::numeric, $4::bigint, $5::smallint)';
  }
  params.push(limit + 1);
  const order = 'order by commit_position desc, prepare_position desc, seq desc';
  const filter = `($2::text is null or currency = $2) ${after}`;
  // Two index scans, one per side, merged: an entry never has the account on both sides.
  const { rows } = await pool.query<EntryRow>(
    `(select ${columns} from ledger_entries where debit_account = $1 and ${filter} ${order} limit $${params.length})
     union all
     (select ${columns} from ledger_entries where credit_account = $1 and ${filter} ${order} limit $${params.length})
     ${order} limit $${params.length}`,
    params,
  );
  return { data: rows.slice(0, limit).map(toEntry), has_more: rows.length > limit };
}
