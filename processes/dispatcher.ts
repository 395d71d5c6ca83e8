import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import type { SagaJob } from './jobs';
import type { RetryPolicy } from './worker';

interface WorkRow {
  job_id: string;
  job: SagaJob;
  opened_at: Date;
}

export function jobOptions(jobId: string, retry: RetryPolicy) {
  return {
    jobId,
    attempts: retry.attempts,
    backoff: { type: 'custom' },
    removeOnComplete: true,
    removeOnFail: false,
  };
}

/**
 * Moves new work rows into the queue. The rows are claimed (marked dispatched) in one statement
 * before they are enqueued, so that no transaction stays open while the queue is called: an open
 * write transaction would hold back every subscription's read position (readAll stops at the
 * oldest running transaction) and the row locks would make each finished job wait to delete its
 * row. SKIP LOCKED lets several dispatchers share the table, and the job id is the row's, so a
 * duplicate is a no-op. Rows whose enqueue failed are handed back for the next pass; should that
 * fail too, or the process die between claim and enqueue, the janitor enqueues them once they
 * count as stuck.
 */
export async function dispatchNewWork(pool: Pool, queue: Queue<SagaJob>, retry: RetryPolicy, limit = 200): Promise<number> {
  const { rows } = await pool.query<WorkRow>(
    `with claimed as (select job_id from saga_work where dispatched_at is null order by opened_at limit $1 for update skip locked)
     update saga_work set dispatched_at = now(), dispatch_count = dispatch_count + 1
       from claimed where saga_work.job_id = claimed.job_id
     returning saga_work.job_id, saga_work.job, saga_work.opened_at`,
    [limit],
  );
  if (rows.length === 0) return 0;
  rows.sort((a, b) => a.opened_at.getTime() - b.opened_at.getTime());
  try {
    await queue.addBulk(rows.map((row) => ({ name: row.job.name, data: row.job, opts: jobOptions(row.job_id, retry) })));
  } catch (error) {
    await pool
      .query('update saga_work set dispatched_at = null where job_id = any($1)', [rows.map((row) => row.job_id)])
      .catch(() => undefined);
    throw error;
  }
  return rows.length;
}
