import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import type { SagaJob } from './jobs';
import { inTransaction } from '../infra/postgres/transaction';
import type { RetryPolicy } from './worker';

interface WorkRow {
  job_id: string;
  job: SagaJob;
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
 * Moves new work rows into the queue. Rows are locked while they are enqueued (SKIP LOCKED lets
 * several dispatchers share the table), and the job id is the row's, so a duplicate is a no-op.
 */
export async function dispatchNewWork(pool: Pool, queue: Queue<SagaJob>, retry: RetryPolicy, limit = 200): Promise<number> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<WorkRow>(
      'select job_id, job from saga_work where dispatched_at is null order by opened_at limit $1 for update skip locked',
      [limit],
    );
    if (rows.length === 0) return 0;
    await queue.addBulk(rows.map((row) => ({ name: row.job.name, data: row.job, opts: jobOptions(row.job_id, retry) })));
    await client.query('update saga_work set dispatched_at = now(), dispatch_count = dispatch_count + 1 where job_id = any($1)', [
      rows.map((row) => row.job_id),
    ]);
    return rows.length;
  });
}
