import type { Migration } from '../migrate';

/**
 * Read models (DESIGN.md section 8) and the checkpoints of the projections that write them.
 *
 * - A checkpoint is the event-store position of the last event a projection applied; the runner
 *   moves it in the same transaction as the rows, so a crash can never apply an event twice.
 *   `commit_position` holds an xid8 (a 64-bit unsigned integer), hence numeric(20).
 * - Money is bigint minor units everywhere: never a float.
 * - `payments.state` keeps the folded domain state, so the next event is applied with the
 *   domain's own `evolve` rather than a second, drifting copy of the rules.
 * - Ledger entries are immutable: posting or voiding a pending transfer is a new entry that names
 *   the pending one, as in TigerBeetle's two-phase transfers.
 */
export const readModels: Migration = {
  id: '004-read-models',
  sql: `
    create table projection_checkpoints (
      name text primary key,
      commit_position numeric(20, 0) not null,
      prepare_position bigint not null,
      updated_at timestamptz not null default now()
    );

    create table payments (
      id text primary key,
      merchant_id text not null,
      status text not null,
      amount bigint not null check (amount > 0),
      currency text not null,
      customer_id text not null,
      capture_method text not null,
      amount_captured bigint not null check (amount_captured >= 0),
      amount_refunded bigint not null check (amount_refunded >= 0),
      fee bigint,
      net bigint,
      failure_code text,
      failure_message text,
      description text,
      metadata jsonb not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      revision bigint not null,
      commit_position numeric(20, 0) not null,
      prepare_position bigint not null,
      state jsonb not null
    );
    create index payments_by_merchant on payments (merchant_id, created_at, id);
    create index payments_by_merchant_status on payments (merchant_id, status, created_at, id);
    create index payments_by_merchant_customer on payments (merchant_id, customer_id, created_at, id);

    create table ledger_payments (
      payment_id text primary key,
      merchant_id text not null,
      currency text not null,
      revision bigint not null,
      pending_entry_id uuid,
      pending_amount bigint not null check (pending_amount >= 0)
    );

    create table ledger_accounts (
      account text not null,
      currency text not null,
      debits_pending bigint not null default 0 check (debits_pending >= 0),
      credits_pending bigint not null default 0 check (credits_pending >= 0),
      debits_posted bigint not null default 0 check (debits_posted >= 0),
      credits_posted bigint not null default 0 check (credits_posted >= 0),
      primary key (account, currency)
    );

    create table ledger_entries (
      id uuid primary key,
      event_id uuid not null,
      seq smallint not null,
      payment_id text not null,
      kind text not null check (kind in ('authorization', 'capture', 'release', 'cancel', 'fee', 'refund')),
      phase text not null check (phase in ('pending', 'posted', 'voided')),
      pending_entry_id uuid,
      debit_account text not null,
      credit_account text not null,
      amount bigint not null check (amount > 0),
      currency text not null,
      commit_position numeric(20, 0) not null,
      prepare_position bigint not null,
      created_at timestamptz not null,
      check (debit_account <> credit_account)
    );
    create index ledger_entries_by_debit on ledger_entries (debit_account, commit_position, prepare_position, seq);
    create index ledger_entries_by_credit on ledger_entries (credit_account, commit_position, prepare_position, seq);
    create index ledger_entries_by_payment on ledger_entries (payment_id);
  `,
};
