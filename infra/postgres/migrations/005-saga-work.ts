import type { Migration } from '../migrate';

/**
 * The saga's open work, derived from the streams by the saga projections: one row per job that
 * has been asked for and not yet completed. The queue is only a delivery mechanism; this table is
 * what a lost queue is rebuilt from.
 */
export const sagaWork: Migration = {
  id: '005-saga-work',
  sql: `
    create table saga_work (
      job_id text primary key,
      name text not null,
      job jsonb not null,
      payment_id uuid,
      opened_at timestamptz not null default now(),
      dispatched_at timestamptz,
      dispatch_count integer not null default 0
    );
    create index saga_work_undispatched on saga_work (opened_at) where dispatched_at is null;
    create index saga_work_dispatched on saga_work (dispatched_at);
  `,
};
