import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type * as EmmettModule from '../baselines/node_modules/@event-driven-io/emmett' with { 'resolution-mode': 'require' };
import type * as EmmettPostgresModule from '../baselines/node_modules/@event-driven-io/emmett-postgresql' with { 'resolution-mode': 'require' };
import { measureCase, raceNoStreams, type Appender, type CaseArgs, type CaseResult, type RaceArgs, type RaceResult } from './workload';

/**
 * Emmett's side, run by inFreshProcess so that its peak RSS is its own. Emmett lives in
 * test/bench/baselines (its peers conflict with the ledger's), so it and its own `pg` are loaded
 * from there.
 */
const requireBaseline = createRequire(resolve(__dirname, '../baselines/package.json'));
const emmett = requireBaseline('@event-driven-io/emmett') as typeof EmmettModule;
const emmettPostgres = requireBaseline('@event-driven-io/emmett-postgresql') as typeof EmmettPostgresModule;
type BaselinePool = Extract<NonNullable<EmmettPostgresModule.PostgresEventStoreOptions['connectionOptions']>, { pool: unknown }>['pool'];
const pg = requireBaseline('pg') as { Pool: new (config: { connectionString: string; max: number }) => BaselinePool };

export async function measureEmmett(args: CaseArgs): Promise<CaseResult> {
  return withEmmettStore(args.url, args.writers, (appender) => measureCase(appender, args));
}

export async function raceEmmett(args: RaceArgs): Promise<RaceResult[]> {
  return withEmmettStore(args.url, args.connections, (appender) => raceNoStreams(appender, args));
}

/**
 * Emmett's pg pool would default to pg's 10 connections; it is handed a pool as large as the
 * ledger's (its documented `connectionOptions.pool`), so that both have one connection per writer.
 * Each run starts from empty tables, whatever ran on the database before.
 */
async function withEmmettStore<T>(url: string, connections: number, work: (appender: Appender) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: connections });
  try {
    const store = emmettPostgres.getPostgreSQLEventStore(url, { connectionOptions: { pool } });
    await store.schema.migrate();
    await store.schema.dangerous.truncate();
    try {
      return await work(emmettAppender(store));
    } finally {
      await store.close();
    }
  } finally {
    await pool.end();
  }
}

/** Emmett counts a stream's version from 1 (the number of events in it); the ledger's revision counts from 0. */
function emmettAppender(store: EmmettPostgresModule.PostgresEventStore): Appender {
  return {
    async create(streamId, events) {
      await store.appendToStream(streamId, [...events], { expectedStreamVersion: emmett.STREAM_DOES_NOT_EXIST });
    },
    async appendAfter(streamId, events, revision) {
      await store.appendToStream(streamId, [...events], { expectedStreamVersion: BigInt(revision + 1) });
    },
    isConflict: (error) => emmett.isExpectedVersionConflictError(error),
  };
}
