import type { Migration } from '../migrate';

/**
 * One table for every stream. `streams` holds each stream's current revision: the row lock taken
 * on it serialises appends to one stream, and its primary key makes `no_stream` atomic.
 * `transaction_id` lets readAll return only what every earlier transaction has committed.
 */
export const eventStore: Migration = {
  id: '001-event-store',
  sql: `
    create table streams (
      stream_id text primary key,
      revision bigint not null check (revision >= 0)
    );

    create table events (
      global_position bigserial primary key,
      transaction_id xid8 not null default pg_current_xact_id(),
      stream_id text not null references streams (stream_id),
      revision bigint not null check (revision >= 0),
      event_id uuid not null,
      type text not null,
      data jsonb not null,
      metadata jsonb not null,
      recorded_at timestamptz not null,
      prev_hash text not null,
      hash text not null,
      unique (stream_id, revision)
    );

    create index events_read_all on events (transaction_id, global_position);
    create index events_event_id on events (event_id);
  `,
};
