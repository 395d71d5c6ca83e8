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
  /** Events per committed batch: transactions stay short, since a long one holds every reader back. */
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
 * committing batch by batch, then swaps them with the live tables and sets the checkpoint in one
 * transaction. The live tables keep serving, and the live runner keeps running, until that swap:
 * the swap first locks the checkpoint row, which waits for the runner's batch in flight and holds
 * back its next one, applies to the shadow whatever arrived meanwhile, then renames. The runner's
 * next batch sees the checkpoint moved and starts again from it.
 */
export async function rebuildProjection(pool: Pool, store: EventStore, projection: Projection, options: RebuildOptions = {}): Promise<RebuildResult> {
  const batch = options.batch ?? 1000;
  const clock = options.clock ?? (() => performance.now());
  const lockClient = await pool.connect();
  try {
    await takeRebuildLock(lockClient, projection.name, options.waitForOtherRebuild ?? false);
    try {
      const total = await countEvents(pool, projection.streamPrefix);
      await createShadowTables(pool, projection);
      const started = clock();
      let done = 0;
      let position: Position | null = null;
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
      for (;;) {
        const events = await store.readAll(position, { batch, streamPrefix: projection.streamPrefix });
        if (events.length === 0) break;
        await inTransaction(pool, (client) => applyEvents(client, projection, events, shadow));
        position = events[events.length - 1]!.position;
        done += events.length;
        report();
      }
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

async function createShadowTables(pool: Pool, projection: Projection): Promise<void> {
  await inTransaction(pool, async (client) => {
    for (const table of projection.tables) {
      await client.query(`drop table if exists ${quoteIdent(shadow(table))}`);
      await client.query(`create table ${quoteIdent(shadow(table))} (like ${quoteIdent(table)} including all)`);
    }
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
