import { Queue, Worker, createPostgresBackend, withBackend } from 'bullmq';
import type { Processor, WorkerOptions, QueueOptions } from 'bullmq';
import IORedis from 'ioredis';

/**
 * BullMQ on one of its two backends: PostgreSQL by default (its own `bullmq` schema in the ledger's
 * database), Redis when REDIS_URL is set. Callers see one small interface either way.
 *
 * Start-up is two steps: make the queues and workers, then `ready()`. BullMQ connects each part
 * lazily and, on its PostgreSQL backend, remembers a failed first connection for good: a worker
 * whose first connection met a Postgres outage would fail every fetch at once, forever, without
 * pausing (a busy loop that also floods the log). So every part connects while the role starts —
 * the role fails to start if it cannot — and workers run only once connected; later outages only
 * fail single queries, which BullMQ retries.
 */
export interface QueueKit {
  readonly backend: 'postgres' | 'redis';
  queue<T>(name: string): Queue<T>;
  /** A worker that starts fetching jobs at `ready()`. */
  worker<T>(name: string, processor: Processor<T>, options: Omit<WorkerOptions, 'connection' | 'autorun'>): Worker<T>;
  /** Connects every queue and worker made so far, then starts the workers. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface QueueKitTarget {
  readonly redisUrl?: string | undefined;
  readonly databaseUrl: string;
  /** Errors of the kit's queues (a dropped idle connection); workers' errors go to their own listeners. */
  readonly onError?: (error: Error) => void;
}

type Part = { waitUntilReady(): Promise<unknown>; close(): Promise<void> };

/** After this many worker errors within a second, the worker rests before fetching again. */
const ERROR_BURST = 10;
const REST_MS = { first: 1_000, max: 15_000 };

export function createQueueKit(target: QueueKitTarget): QueueKit {
  if (target.redisUrl) {
    // BullMQ's workers block on Redis; ioredis must not give up on those commands.
    const connection = new IORedis(target.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
    connection.on('error', () => undefined);
    return kitOver('redis', { connection } as QueueOptions, target.onError, () => connection.disconnect(), {
      Queue,
      Worker,
    });
  }
  // BullMQ creates and upgrades its own schema; several processes may start at once, which its
  // migrator serialises.
  const connection = { connectionString: target.databaseUrl, schema: 'bullmq', max: 10, migrate: true };
  const classes = withBackend(createPostgresBackend);
  return kitOver('postgres', { connection } as unknown as QueueOptions, target.onError, () => undefined, {
    Queue: classes.Queue as unknown as typeof Queue,
    Worker: classes.Worker as unknown as typeof Worker,
  });
}

function kitOver(
  backend: QueueKit['backend'],
  connectionOptions: QueueOptions,
  onError: ((error: Error) => void) | undefined,
  release: () => void,
  classes: { Queue: typeof Queue; Worker: typeof Worker },
): QueueKit {
  const parts: Part[] = [];
  const waiting: Worker[] = [];
  const reportError = onError ?? (() => undefined);
  return {
    backend,
    queue<T>(name: string) {
      const queue = new classes.Queue<T>(name, connectionOptions);
      queue.on('error', reportError);
      parts.push(queue);
      return queue;
    },
    worker<T>(name: string, processor: Processor<T>, options: Omit<WorkerOptions, 'connection' | 'autorun'>) {
      const worker = new classes.Worker<T>(name, processor, { ...options, ...connectionOptions, autorun: false } as WorkerOptions);
      restOnErrorBursts(worker as unknown as Worker);
      parts.push(worker);
      waiting.push(worker as unknown as Worker);
      return worker;
    },
    async ready() {
      await Promise.all(parts.map((part) => part.waitUntilReady()));
      for (const worker of waiting.splice(0)) {
        // run() settles when the worker closes; its failures reach the worker's 'error' listeners.
        worker.run().catch((error: unknown) => worker.emit('error', error instanceof Error ? error : new Error(String(error))));
      }
    },
    async close() {
      await Promise.all(parts.map((part) => part.close().catch(() => undefined)));
      release();
    },
  };
}

/**
 * BullMQ retries a failed fetch at once unless the error looks like a refused connection; errors of
 * a Postgres going away ("Connection terminated unexpectedly", "the database system is shutting
 * down") do not, so a worker would spin. A burst of errors pauses the worker for a while (doubling
 * up to REST_MS.max while bursts continue); jobs already running are left to finish.
 */
export function restOnErrorBursts(worker: Worker): void {
  let windowStart = 0;
  let inWindow = 0;
  let rest = REST_MS.first;
  let resting = false;
  let lastRestEnded: number | null = null;
  worker.on('error', () => {
    const now = Date.now();
    if (now - windowStart > 1_000) {
      windowStart = now;
      inWindow = 0;
    }
    inWindow += 1;
    if (resting || inWindow < ERROR_BURST || worker.closing) return;
    resting = true;
    // A burst soon after the last rest means the cause is still there: rest twice as long.
    rest = lastRestEnded !== null && now - lastRestEnded < 2 * rest ? Math.min(rest * 2, REST_MS.max) : REST_MS.first;
    void worker.pause(true).then(() =>
      setTimeout(() => {
        resting = false;
        lastRestEnded = Date.now();
        if (!worker.closing) void worker.resume();
      }, rest).unref(),
    );
  });
}
