import type { Migration } from '../postgres/migrate';

/**
 * The sandbox keeps every Stripe object (intents, charges, refunds, balance transactions, events) as
 * JSON in one table: the API only ever reads them by id, by type in creation order, or by a few
 * fields, and one table keeps the store small. `seq` gives a total creation order, which Stripe's
 * lists need (newest first) because `created` has only one-second resolution.
 */
export const stripeSandboxMigration: Migration = {
  id: '003-stripe-sandbox',
  sql: `
    create schema if not exists stripe_sandbox;

    create table stripe_sandbox.objects (
      seq bigserial unique,
      id text primary key,
      object text not null,
      created bigint not null,
      data jsonb not null
    );
    create index objects_by_type on stripe_sandbox.objects (object, seq);
    create index objects_by_metadata on stripe_sandbox.objects using gin ((data -> 'metadata'));

    create table stripe_sandbox.idempotency_keys (
      scope text not null,
      key text not null,
      request_hash text not null,
      status text not null check (status in ('in_flight', 'done')),
      response_status int,
      response_body jsonb,
      locked_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      primary key (scope, key)
    );

    create table stripe_sandbox.webhook_outbox (
      id bigserial primary key,
      event_id text not null,
      endpoint_url text not null,
      attempts int not null default 0,
      next_attempt_at bigint not null,
      lease_until bigint,
      delivered_at bigint,
      abandoned_at bigint,
      last_status int,
      last_error text
    );
    create index webhook_outbox_pending on stripe_sandbox.webhook_outbox (next_attempt_at)
      where delivered_at is null and abandoned_at is null;
  `,
};
