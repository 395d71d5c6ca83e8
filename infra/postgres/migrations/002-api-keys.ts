import type { Migration } from '../migrate';

/** API keys are stored as sha256 of the key: the key itself is shown once and never kept. */
export const apiKeys: Migration = {
  id: '002-api-keys',
  sql: `
    create table api_keys (
      id text primary key,
      key_hash text not null unique,
      merchant_id text not null,
      scopes text[] not null,
      mode text not null check (mode in ('test', 'live')),
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    );
    create index api_keys_merchant on api_keys (merchant_id);
  `,
};
