import type { Pool, PoolClient } from 'pg';
import type { EventStore, Position } from '../ports/event-store';
import { ensureCheckpoint, lockCheckpoint, writeCheckpoint } from './checkpoints';
import type { Projection } from './projection';
import { quoteIdent } from './projection';
import { applyEvents } from './runner';
import { inTransaction } from '../infra/postgres/transaction';

export interface RebuildProgress {
  readonly projection: string;
  readonly done: number;
  /** Events in the projection's streams when the rebuild began; more may arrive while it runs. */
  readonly total: number;
  readonly eventsPerSecond: number;
  /** null until there is a rate to go by. */
  readonly etaSeconds: number | null;
}

export interface RebuildOptions {
  /**
   * Events per committed batch (and per readAll page). Transactions stay short, since a long one
   * holds every reader back; a batch's writes are a few set-based statements, so 5000 events keep
   * one within a few hundred milliseconds while paying per-batch costs (round trips, the ledger's
   * invariant check, a payment written again in a later batch) five times less often than 1000.
   */
  readonly batch?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Wait for a rebuild of the same projection already running, instead of failing. */
  readonly waitForOtherRebuild?: boolean;
  readonly clock?: () => number;
}

export interface RebuildResult {
  readonly projection: string;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly position: Position | null;
}

const REBUILD_LOCK_CLASS = 7_262_005;
export const SHADOW_SUFFIX = '_rebuild';
const shadow = (table: string): string => `${table}${SHADOW_SUFFIX}`;

/**
 * Replays every event of the projection's streams into shadow tables (`<table>_rebuild`),
 * committing batch by batch, builds their secondary indexes once the rows are in, then swaps them
 * with the live tables and sets the checkpoint in one transaction. The live tables keep serving, and the live runner keeps running, until that swap:
 * the swap first locks the checkpoint row, which waits for the runner's batch in flight and holds
 * back its next one, applies to the shadow whatever arrived meanwhile, then renames. The runner's
 * next batch sees the checkpoint moved and starts again from it.
 */
export async function rebuildProjection(pool: Pool, store: EventStore, projection: Projection, options: RebuildOptions = {}): Promise<RebuildResult> {
  const batch = options.batch ?? 5000;
  const clock = options.clock ?? (() => performance.now());
  const lockClient = await pool.connect();
  try {
    await takeRebuildLock(lockClient, projection.name, options.waitForOtherRebuild ?? false);
    try {
      const total = await countEvents(pool, projection.streamPrefix);
      const deferredIndexes = await createShadowTables(pool, projection);
      const started = clock();
      let done = 0;
      const report = () => {
        const seconds = Math.max((clock() - started) / 1000, 1e-6);
        const eventsPerSecond = done / seconds;
        const left = Math.max(total - done, 0);
        options.onProgress?.({
          projection: projection.name,
          done,
          total,
          eventsPerSecond,
          etaSeconds: eventsPerSecond > 0 ? left / eventsPerSecond : null,
        });
      };
      const position = await replayIntoShadow(pool, store, projection, batch, (events) => {
        done += events;
        report();
      });
      for (const definition of deferredIndexes) await pool.query(definition);
      const swapped = await swapIn(pool, store, projection, position, batch);
      done += swapped.events;
      report();
      const seconds = (clock() - started) / 1000;
      return { projection: projection.name, events: done, seconds, eventsPerSecond: done / Math.max(seconds, 1e-6), position: swapped.position };
    } finally {
      await lockClient.query('select pg_advisory_unlock($1, hashtext($2))', [REBUILD_LOCK_CLASS, projection.name]);
    }
  } finally {
    lockClient.release();
  }
}

/**
 * Applies every event there is to the shadow tables, a transaction per batch, and returns the
 * position of the last one. Reading the next page does not wait for this one to be written: the
 * two overlap.
 */
async function replayIntoShadow(
  pool: Pool,
  store: EventStore,
  projection: Projection,
  batch: number,
  onBatch: (events: number) => void,
): Promise<Position | null> {
  const readAfter = (after: Position | null) => {
    const page = store.readAll(after, { batch, streamPrefix: projection.streamPrefix });
    // A page read ahead is awaited only after the batch before it commits; should that batch
    // fail first, the page's own failure must not surface as an unhandled rejection.
    page.catch(() => undefined);
    return page;
  };
  let position: Position | null = null;
  let next = readAfter(position);
  for (;;) {
    const events = await next;
    if (events.length === 0) return position;
    position = events[events.length - 1]!.position;
    next = readAfter(position);
    await inTransaction(pool, (client) => applyEvents(client, projection, events, shadow));
    onBatch(events.length);
  }
}

async function takeRebuildLock(client: PoolClient, name: string, wait: boolean): Promise<void> {
  if (wait) {
    await client.query('select pg_advisory_lock($1, hashtext($2))', [REBUILD_LOCK_CLASS, name]);
    return;
  }
  const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as locked', [REBUILD_LOCK_CLASS, name]);
  if (!rows[0]?.locked) throw new Error(`a rebuild of projection ${name} is already running`);
}

async function countEvents(pool: Pool, prefix: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "select count(*)::text as n from events where stream_id like $1 escape '\\'",
    [`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`],
  );
  return Number(rows[0]!.n);
}

/**
 * Makes each shadow table like its live table, less the indexes that are not constraints, and
 * returns the statements that build those: an index built once over the finished rows costs far
 * less than one kept up to date row by row. The primary keys stay, since the upserts need them,
 * and so do unique indexes, which are constraints.
 */
async function createShadowTables(pool: Pool, projection: Projection): Promise<string[]> {
  return inTransaction(pool, async (client) => {
    const deferred: string[] = [];
    for (const table of projection.tables) {
      await client.query(`drop table if exists ${quoteIdent(shadow(table))}`);
      await client.query(`create table ${quoteIdent(shadow(table))} (like ${quoteIdent(table)} including all)`);
      const { rows } = await client.query<{ index: string; definition: string }>(
        `select indexrelid::regclass::text as index, pg_get_indexdef(indexrelid) as definition
           from pg_index where indrelid = $1::regclass and not indisunique`,
        [quoteIdent(shadow(table))],
      );
      for (const { index, definition } of rows) {
        await client.query(`drop index ${index}`);
        deferred.push(definition);
      }
    }
    return deferred;
  });
}

async function swapIn(
  pool: Pool,
  store: EventStore,
  projection: Projection,
  from: Position | null,
  batch: number,
): Promise<{ events: number; position: Position | null }> {
  await ensureCheckpoint(pool, projection.name);
  return inTransaction(pool, async (client) => {
    await lockCheckpoint(client, projection.name);
    let position = from;
    let events = 0;
    for (;;) {
      const more = await store.readAll(position, { batch, streamPrefix: projection.streamPrefix });
      if (more.length === 0) break;
      await applyEvents(client, projection, more, shadow);
      position = more[more.length - 1]!.position;
      events += more.length;
    }
    for (const table of projection.tables) {
      const old = quoteIdent(`${table}_replaced`);
      await client.query(`alter table ${quoteIdent(table)} rename to ${old}`);
      await client.query(`alter table ${quoteIdent(shadow(table))} rename to ${quoteIdent(table)}`);
      await client.query(`drop table ${old}`);
    }
    await writeCheckpoint(client, projection.name, position ?? { commit: 0n, prepare: 0n });
    return { events, position };
  });
}
