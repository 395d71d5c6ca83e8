import type { Pool, PoolClient } from 'pg';
import type { EventStore, Position, RecordedEvent } from '../ports/event-store';
import { comparePositions } from '../ports/event-store';
import { ensureCheckpoint, lockCheckpoint, ORIGIN, readCheckpoint, writeCheckpoint } from './checkpoints';
import type { Projection } from './projection';
import { projectionTx } from './projection';
import { inTransaction } from '../infra/postgres/transaction';

export interface RunnerLog {
  info(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface RunnerOptions {
  /** Events per transaction. */
  readonly batch?: number;
  /** Pause between polls once caught up. */
  readonly pollMs?: number;
  /** Pause between attempts to become the active instance. */
  readonly lockPollMs?: number;
  /** Pause after a failed batch before it is tried again. */
  readonly retryMs?: number;
  readonly log?: RunnerLog;
  /** Called after each committed batch. */
  readonly onBatch?: (batch: { readonly events: number; readonly position: Position }) => void;
  /** Called when a batch fails (it was rolled back and will be retried). */
  readonly onError?: (error: unknown) => void;
}

export interface ProjectionRunner {
  readonly name: string;
  /** True while this instance holds the projection's advisory lock. */
  isActive(): boolean;
  /** Stops after the batch in flight (which commits or rolls back whole) and releases the lock. */
  stop(): Promise<void>;
}

/** The advisory lock's first key, one fixed number for every projection; the second is the name's hash. */
const PROJECTION_LOCK_CLASS = 7_262_004;

const silent: RunnerLog = { info: () => undefined, error: () => undefined };

/**
 * Runs one projection: read a batch after the checkpoint, apply it and move the checkpoint in one
 * transaction (the effect of each event lands exactly once), poll when caught up.
 *
 * One instance per projection is active: it holds `pg_try_advisory_lock` on a dedicated
 * connection for as long as it runs, and the others poll for the lock. Should two instances ever
 * overlap anyway (the lock's connection died mid-batch), the checkpoint row, locked and compared
 * with the position the batch was read from, makes the late one roll back.
 */
export function startProjectionRunner(pool: Pool, store: EventStore, projection: Projection, options: RunnerOptions = {}): ProjectionRunner {
  const batch = options.batch ?? 500;
  const pollMs = options.pollMs ?? 100;
  const lockPollMs = options.lockPollMs ?? 500;
  const retryMs = options.retryMs ?? 1000;
  const log = options.log ?? silent;
  let stopped = false;
  let active = false;
  let wake: () => void = () => undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function runWhileLocked(lockClient: PoolClient, lost: () => boolean): Promise<void> {
    await ensureCheckpoint(pool, projection.name);
    while (!stopped && !lost()) {
      let applied: number;
      try {
        applied = await runBatch(pool, store, projection, batch);
      } catch (error) {
        log.error(`projection ${projection.name}: batch failed, retrying`, { error });
        options.onError?.(error);
        await pause(retryMs);
        continue;
      }
      if (applied > 0) {
        const position = (await readCheckpoint(lockClient, projection.name)) ?? ORIGIN;
        options.onBatch?.({ events: applied, position });
      } else {
        await pause(pollMs);
      }
    }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let lockClient: PoolClient;
      try {
        lockClient = await pool.connect();
      } catch (error) {
        log.error(`projection ${projection.name}: cannot connect`, { error });
        await pause(retryMs);
        continue;
      }
      let lockLost = false;
      const onLockError = (error: Error) => {
        lockLost = true;
        log.error(`projection ${projection.name}: lost the connection holding its lock`, { error });
      };
      lockClient.on('error', onLockError);
      try {
        const { rows } = await lockClient.query<{ locked: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as locked', [
          PROJECTION_LOCK_CLASS,
          projection.name,
        ]);
        if (!rows[0]?.locked) {
          await pause(lockPollMs);
          continue;
        }
        active = true;
        log.info(`projection ${projection.name}: active`);
        await runWhileLocked(lockClient, () => lockLost);
      } catch (error) {
        lockLost = true;
        log.error(`projection ${projection.name}: runner failed`, { error });
        options.onError?.(error);
        await pause(retryMs);
      } finally {
        if (active && !lockLost) {
          await lockClient.query('select pg_advisory_unlock($1, hashtext($2))', [PROJECTION_LOCK_CLASS, projection.name]).catch(() => {
            lockLost = true;
          });
        }
        active = false;
        lockClient.off('error', onLockError);
        // A connection whose state is unknown is closed, which also frees any lock it still holds.
        lockClient.release(lockLost);
      }
    }
  }

  const running = loop();
  return {
    name: projection.name,
    isActive: () => active,
    async stop() {
      stopped = true;
      wake();
      await running;
    },
  };
}

/**
 * One batch: the events after the checkpoint, their row changes and the new checkpoint, in one
 * transaction. Returns how many events were applied (0 when caught up or when another writer
 * moved the checkpoint since it was read, in which case nothing was written).
 */
export async function runBatch(pool: Pool, store: EventStore, projection: Projection, batch: number): Promise<number> {
  const from = (await readCheckpoint(pool, projection.name)) ?? ORIGIN;
  const events = await store.readAll(from, { batch, streamPrefix: projection.streamPrefix });
  if (events.length === 0) return 0;
  return inTransaction(pool, async (client) => {
    // Another instance moved the checkpoint since it was read: write nothing (the empty commit is a no-op).
    if (comparePositions(await lockCheckpoint(client, projection.name), from) !== 0) return 0;
    await applyEvents(client, projection, events);
    await writeCheckpoint(client, projection.name, events[events.length - 1]!.position);
    return events.length;
  });
}

/**
 * Applies events in order inside the caller's transaction (`load` with all of them, `apply` each,
 * `flush`), then checks the projection's invariants.
 */
export async function applyEvents(
  client: PoolClient,
  projection: Projection,
  events: readonly RecordedEvent[],
  physical?: (table: string) => string,
): Promise<void> {
  const tx = projectionTx(client, projection, physical);
  await projection.load?.(events, tx);
  for (const event of events) await projection.apply(event, tx);
  await projection.flush?.(tx);
  await projection.assertInvariants?.(tx);
}
