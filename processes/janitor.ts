import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import type { SagaJob } from './jobs';
import { jobOptions } from './dispatcher';
import type { RetryPolicy } from './worker';

export interface JanitorReport {
  /** Work rows dispatched longer ago than the threshold and still open. */
  readonly stuck: number;
  /** Jobs put back into the queue: lost with the queue, or failed after every attempt. */
  readonly redispatched: number;
}

/**
 * Finds work that has been open too long and makes sure a job exists for it. A job lost with the
 * queue (Redis flushed, the BullMQ schema dropped) is added again; a job that used up its attempts
 * is retried. Its handler then asks Stripe what happened (an authorization looks its intent up by
 * metadata) before taking any step, so an unknown outcome is resolved, never repeated blindly.
 */
export async function sweepStuckWork(pool: Pool, queue: Queue<SagaJob>, retry: RetryPolicy, stuckAfterMs: number): Promise<JanitorReport> {
  const { rows } = await pool.query<{ job_id: string; job: SagaJob }>(
    `select job_id, job from saga_work where dispatched_at < now() - make_interval(secs => $1::double precision / 1000) order by dispatched_at limit 500`,
    [stuckAfterMs],
  );
  let redispatched = 0;
  for (const row of rows) {
    const state = await queue.getJobState(row.job_id);
    if (state === 'failed') {
      const job = await queue.getJob(row.job_id);
      await job?.retry('failed');
      redispatched += 1;
    } else if (state === 'unknown' || state === 'completed') {
      if (state === 'completed') await (await queue.getJob(row.job_id))?.remove();
      await queue.add(row.job.name, row.job, jobOptions(row.job_id, retry));
      redispatched += 1;
    }
    await pool.query('update saga_work set dispatched_at = now(), dispatch_count = dispatch_count + 1 where job_id = $1', [row.job_id]);
  }
  return { stuck: rows.length, redispatched };
}
