import type { Migration } from '../migrate';

/**
 * The reconciliation read model (projections/reconciliation.projection.ts): one row per run and one
 * per discrepancy, so that a discrepancy can be found by its id and open ones listed across runs.
 * The runs' streams stay the record; these rows are derived from them and can be rebuilt.
 */
export const reconciliation: Migration = {
  id: '006-reconciliation',
  sql: `
    create table reconciliation_runs (
      run_id uuid primary key,
      status text not null,
      window_from timestamptz not null,
      window_to timestamptz not null,
      trigger text,
      requested_at timestamptz,
      started_at timestamptz,
      completed_at timestamptz,
      summary jsonb
    );
    create index reconciliation_runs_window on reconciliation_runs (window_from, window_to);

    create table reconciliation_discrepancies (
      discrepancy_id uuid primary key,
      run_id uuid not null,
      fingerprint uuid not null,
      kind text not null,
      payment_id text,
      status text not null check (status in ('open', 'healed', 'resolved')),
      resolution text,
      data jsonb not null
    );
    create index reconciliation_discrepancies_run on reconciliation_discrepancies (run_id);
    create index reconciliation_discrepancies_open on reconciliation_discrepancies (fingerprint) where status = 'open';
  `,
};
