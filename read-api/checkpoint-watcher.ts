import type { Pool } from 'pg';
import type { Position } from '../ports/event-store';
import { comparePositions } from '../ports/event-store';

export interface CheckpointWait {
  /** Where the projection stands now (null: it has never run). */
  readonly position: Position | null;
  readonly reached: boolean;
}

export interface CheckpointWatcher {
  /** Resolves as soon as projection `name` has applied `target`, or after `timeoutMs` with where it stands. */
  waitFor(name: string, target: Position, timeoutMs: number): Promise<CheckpointWait>;
  stop(): void;
}

interface Waiter {
  readonly name: string;
  readonly target: Position;
  readonly deadline: number;
  readonly resolve: (wait: CheckpointWait) => void;
}

/**
 * Read-your-writes for X-Min-Position: every waiting request shares one poll of the checkpoints
 * table, which runs only while someone waits.
 */
export function createCheckpointWatcher(pool: Pool, intervalMs = 20): CheckpointWatcher {
  const waiters = new Set<Waiter>();
  let timer: NodeJS.Timeout | null = null;
  let polling = false;

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      const { rows } = await pool.query<{ name: string; commit_position: string; prepare_position: string }>(
        'select name, commit_position::text, prepare_position::text from projection_checkpoints where name = any($1)',
        [[...new Set([...waiters].map((w) => w.name))]],
      );
      const positions = new Map(rows.map((r) => [r.name, { commit: BigInt(r.commit_position), prepare: BigInt(r.prepare_position) }]));
      const now = Date.now();
      for (const waiter of waiters) {
        const position = positions.get(waiter.name) ?? null;
        const reached = position !== null && comparePositions(position, waiter.target) >= 0;
        if (reached || now >= waiter.deadline) {
          waiters.delete(waiter);
          waiter.resolve({ position, reached });
        }
      }
    } catch {
      // A failed poll is retried on the next tick; the deadline still bounds the wait.
      const now = Date.now();
      for (const waiter of waiters) {
        if (now >= waiter.deadline) {
          waiters.delete(waiter);
          waiter.resolve({ position: null, reached: false });
        }
      }
    } finally {
      polling = false;
      schedule();
    }
  }

  function schedule(): void {
    if (timer || waiters.size === 0) return;
    timer = setTimeout(() => {
      timer = null;
      void poll();
    }, intervalMs);
    timer.unref();
  }

  return {
    waitFor(name, target, timeoutMs) {
      return new Promise<CheckpointWait>((resolve) => {
        waiters.add({ name, target, deadline: Date.now() + timeoutMs, resolve });
        void poll();
      });
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      for (const waiter of waiters) waiter.resolve({ position: null, reached: false });
      waiters.clear();
    },
  };
}
