// The baseline: BullMQ alone on the same backend, with the saga's queue settings (QueueKit, one
// worker, the same concurrency, the dispatcher's job options and batches) and handlers that do
// nothing, run in a process of its own (see inFreshProcess).
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { createQueueKit } from '../../../infra/queue/bullmq';
import { jobOptions } from '../../../processes/dispatcher';
import { backoffDelay, DEFAULT_RETRY } from '../../../processes/worker';

export interface RawBullmqArgs {
  readonly databaseUrl: string;
  readonly redisUrl: string | null;
  readonly warmupJobs: number;
  readonly jobs: number;
  readonly concurrency: number;
  /** Jobs per addBulk, as the dispatcher moves at most this many work rows per pass. */
  readonly batch: number;
  readonly timeoutMs: number;
}

export interface RawBullmqResult {
  readonly jobsPerSecond: number;
  /** Per job: added to completed, in ms. */
  readonly latenciesMs: number[];
}

interface Flood {
  readonly jobsPerSecond: number;
  readonly latenciesMs: number[];
}

export async function runRawBullmq(args: RawBullmqArgs): Promise<RawBullmqResult> {
  const kit = createQueueKit({ redisUrl: args.redisUrl ?? undefined, databaseUrl: args.databaseUrl });
  const name = `bench-raw-${randomUUID().slice(0, 8)}`;
  const queue = kit.queue<{ n: number }>(name);
  const completedAt = new Map<string, number>();
  let onCompleted: () => void = () => undefined;
  const worker = kit.worker<{ n: number }>(name, async () => undefined, {
    concurrency: args.concurrency,
    settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(DEFAULT_RETRY, attemptsMade) },
  });
  worker.on('completed', (job: Job) => {
    completedAt.set(job.id!, Date.now());
    onCompleted();
  });
  try {
    // The kit connects every part and starts the worker here, as the processes role does.
    await kit.ready();

    const flood = async (prefix: string, count: number): Promise<Flood> => {
      completedAt.clear();
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${completedAt.size} of ${count} raw jobs completed in ${args.timeoutMs} ms`)), args.timeoutMs);
        onCompleted = () => {
          if (completedAt.size < count) return;
          clearTimeout(timer);
          resolve();
        };
      });
      const addedAt = new Map<string, number>();
      const startedAt = Date.now();
      for (let from = 0; from < count; from += args.batch) {
        const ids = Array.from({ length: Math.min(args.batch, count - from) }, (_, i) => `${prefix}-${from + i}`);
        const now = Date.now();
        for (const id of ids) addedAt.set(id, now);
        await queue.addBulk(ids.map((id, i) => ({ name: 'raw', data: { n: from + i }, opts: jobOptions(id, DEFAULT_RETRY) })));
      }
      await done;
      const finishedAt = Math.max(...completedAt.values());
      return {
        jobsPerSecond: count / ((finishedAt - startedAt) / 1000),
        latenciesMs: [...addedAt].map(([id, at]) => completedAt.get(id)! - at),
      };
    };

    await flood('warmup', args.warmupJobs);
    return await flood('job', args.jobs);
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await kit.close();
  }
}
