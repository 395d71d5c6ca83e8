import { Queue, Worker, createPostgresBackend, withBackend } from 'bullmq';
import type { Processor, WorkerOptions, QueueOptions } from 'bullmq';
import IORedis from 'ioredis';

/**
 * BullMQ on one of its two backends: PostgreSQL by default (its own `bullmq` schema in the ledger's
 * database), Redis when REDIS_URL is set. Callers see one small interface either way.
 */
export interface QueueKit {
  readonly backend: 'postgres' | 'redis';
  queue<T>(name: string): Queue<T>;
  worker<T>(name: string, processor: Processor<T>, options: Omit<WorkerOptions, 'connection'>): Worker<T>;
  close(): Promise<void>;
}

export function createQueueKit(target: { readonly redisUrl?: string | undefined; readonly databaseUrl: string }): QueueKit {
  if (target.redisUrl) return redisKit(target.redisUrl);
  return postgresKit(target.databaseUrl);
}

function redisKit(url: string): QueueKit {
  // BullMQ's workers block on Redis; ioredis must not give up on those commands.
  const connection = new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  connection.on('error', () => undefined);
  const owned: { close(): Promise<void> }[] = [];
  return {
    backend: 'redis',
    queue<T>(name: string) {
      const queue = new Queue<T>(name, { connection } as QueueOptions);
      owned.push(queue);
      return queue;
    },
    worker<T>(name: string, processor: Processor<T>, options: Omit<WorkerOptions, 'connection'>) {
      const worker = new Worker<T>(name, processor, { ...options, connection } as WorkerOptions);
      owned.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(owned.map((part) => part.close().catch(() => undefined)));
      connection.disconnect();
    },
  };
}

function postgresKit(databaseUrl: string): QueueKit {
  const classes = withBackend(createPostgresBackend);
  // BullMQ creates and upgrades its own schema; several processes may start at once, which its
  // migrator serialises.
  const connection = { connectionString: databaseUrl, schema: 'bullmq', max: 10, migrate: true };
  const owned: { close(): Promise<void> }[] = [];
  return {
    backend: 'postgres',
    queue<T>(name: string) {
      const queue = new classes.Queue<T>(name, { connection });
      owned.push(queue);
      return queue as unknown as Queue<T>;
    },
    worker<T>(name: string, processor: Processor<T>, options: Omit<WorkerOptions, 'connection'>) {
      const worker = new classes.Worker<T>(name, processor as never, { ...options, connection } as never);
      owned.push(worker);
      return worker as unknown as Worker<T>;
    },
    async close() {
      await Promise.all(owned.map((part) => part.close().catch(() => undefined)));
    },
  };
}
