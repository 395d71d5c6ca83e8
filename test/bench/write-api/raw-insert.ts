// The baseline: single-row INSERTs through `pg` with as many connections as the write API's pool,
// of a row like an event's (a uuid and a jsonb payload copied from a stored PaymentRequested).
// Run through inFreshProcess, so that its peak RSS is the inserting process's own.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { latency, type Latency } from '../harness';
import { offer, searchSustainedRate, type SearchOptions, type SearchResult } from './open-loop';

export interface RawInsertArgs {
  readonly databaseUrl: string;
  readonly connections: number;
  /** The jsonb value of every row. */
  readonly payload: Record<string, unknown>;
}

export interface CeilingResult {
  readonly insertsPerSecond: number;
  readonly latency: Latency;
}

const TABLE = `create table if not exists raw_payments (id uuid primary key, payload jsonb not null)`;
const INSERT = 'insert into raw_payments (id, payload) values ($1, $2)';

async function openPool(args: RawInsertArgs): Promise<{ pool: Pool; insert: () => Promise<void> }> {
  const pool = new Pool({ connectionString: args.databaseUrl, max: args.connections });
  await pool.query(TABLE);
  const payload = JSON.stringify(args.payload);
  return { pool, insert: async () => void (await pool.query(INSERT, [randomUUID(), payload])) };
}

/** The ceiling: `connections` clients each inserting one row after another, as fast as they can. */
export async function rawInsertCeiling(args: RawInsertArgs & { readonly seconds: number; readonly warmupSeconds: number }): Promise<CeilingResult> {
  const { pool, insert } = await openPool(args);
  try {
    await closedLoop(insert, args.connections, args.warmupSeconds);
    const samples: number[] = [];
    const started = performance.now();
    await closedLoop(insert, args.connections, args.seconds, samples);
    return { insertsPerSecond: (samples.length * 1000) / (performance.now() - started), latency: latency(samples) };
  } finally {
    await pool.end();
  }
}

async function closedLoop(insert: () => Promise<void>, clients: number, seconds: number, samples?: number[]): Promise<void> {
  const until = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < until) {
      const sent = performance.now();
      await insert();
      samples?.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
}

/** The same open-loop search as the write API's: the highest insert rate with p99 within the limit. */
export async function rawInsertOpenLoop(args: RawInsertArgs & { readonly search: SearchOptions; readonly warmupRate: number }): Promise<SearchResult> {
  const { pool, insert } = await openPool(args);
  const log = (line: string) => process.stderr.write(`[write-api] raw INSERT open loop ${line}\n`);
  try {
    await offer(insert, args.warmupRate, { ...args.search, seconds: 1 });
    return await searchSustainedRate((rate) => offer(insert, rate, args.search), args.search, log);
  } finally {
    await pool.end();
  }
}
