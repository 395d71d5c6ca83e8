import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import type { Queue } from 'bullmq';
import type { EventStore } from '../../../ports/event-store';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { migrate } from '../../../infra/postgres/migrate';
import { createQueueKit, type QueueKit } from '../../../infra/queue/bullmq';
import { paymentStreamId } from '../../../commands/ids';
import { ensureCheckpoint, runBatch } from '../../../projections';
import { sagaPaymentsProjection } from '../../../processes/saga-work';
import { dispatchNewWork } from '../../../processes/dispatcher';
import { DEFAULT_RETRY } from '../../../processes/worker';
import type { SagaJob } from '../../../processes/jobs';
import { isolatedDatabase } from '../../support/postgres';
import { sagaBackends } from '../../support/saga';
import { paymentRequested } from '../../unit/domain/support/builders';

type AddBulk = Queue<SagaJob>['addBulk'];

describe.each(sagaBackends())('opening and dispatching saga work, on the %s backend', (backend) => {
  let database: { url: string; drop(): Promise<void> };
  let pool: Pool;
  let store: EventStore;
  let kit: QueueKit;
  let queue: Queue<SagaJob>;
  let addBulk: AddBulk;

  beforeAll(async () => {
    database = await isolatedDatabase('dispatch');
    pool = new Pool({ connectionString: database.url, max: 6 });
    await migrate(pool);
    store = createPostgresEventStore(pool);
    await ensureCheckpoint(pool, sagaPaymentsProjection.name);
    kit = createQueueKit({ redisUrl: backend === 'redis' ? process.env.TEST_REDIS_URL : undefined, databaseUrl: database.url });
    queue = kit.queue<SagaJob>(`dispatch-${randomUUID().slice(0, 8)}`);
    await queue.waitUntilReady();
    addBulk = queue.addBulk.bind(queue);
  });
  afterEach(() => {
    queue.addBulk = addBulk;
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await kit.close();
    await pool.end();
    await database.drop();
  });

  const work = async (jobIds: readonly string[]) =>
    (await pool.query('select job_id, dispatched_at is not null as dispatched, dispatch_count from saga_work where job_id = any($1) order by job_id', [jobIds])).rows;

  /** Requests payments and runs the saga's payment subscription over them: their work is open. */
  async function openWork(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    for (const id of ids) {
      const { type, data } = paymentRequested({ payment_id: id });
      const metadata = { correlation_id: id, causation_id: id, actor: 'test', source: 'test' };
      await store.append(paymentStreamId(id), [{ type, data: data as unknown as Record<string, unknown>, metadata }], 'no_stream');
    }
    const jobIds = ids.map((id) => `authorize-${id}`);
    // readAll hands out an event once no older transaction is still running, so this may take a few batches.
    const deadline = Date.now() + 10_000;
    for (;;) {
      await runBatch(pool, store, sagaPaymentsProjection, 500);
      if ((await work(jobIds)).length === jobIds.length) return jobIds;
      if (Date.now() > deadline) throw new Error('the saga subscription did not open the work');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('opens one work row per job for a batch of requested payments', async () => {
    const jobIds = await openWork(3);
    expect(await work(jobIds)).toEqual([...jobIds].sort().map((jobId) => ({ job_id: jobId, dispatched: false, dispatch_count: 0 })));
    // The dispatcher takes any open work: leave none for the cases below.
    while ((await dispatchNewWork(pool, queue, DEFAULT_RETRY)) > 0);
  });

  describe('while the jobs are being enqueued', () => {
    it('holds no transaction open and no lock on the work, so a job that finishes at once can close its row', async () => {
      const [jobId] = await openWork(1);
      const seen: { openTransactions: number; closed: number }[] = [];
      queue.addBulk = async (jobs) => {
        const { rows } = await pool.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'",
        );
        const closer = await pool.connect();
        try {
          await closer.query("set lock_timeout = '2s'");
          const { rowCount } = await closer.query('delete from saga_work where job_id = $1', [jobId]);
          seen.push({ openTransactions: rows[0]!.n, closed: rowCount ?? 0 });
        } finally {
          await closer.query('reset lock_timeout');
          closer.release();
        }
        return addBulk(jobs);
      };

      expect(await dispatchNewWork(pool, queue, DEFAULT_RETRY)).toBe(1);
      expect(seen).toEqual([{ openTransactions: 0, closed: 1 }]);
      expect(await queue.getJobState(jobId!)).toBe('waiting');
    });
  });

  describe('when the queue refuses the jobs', () => {
    it('hands the work back undispatched, and the next pass enqueues it', async () => {
      const jobIds = await openWork(2);
      queue.addBulk = async () => {
        throw new Error('the queue is unreachable');
      };
      await expect(dispatchNewWork(pool, queue, DEFAULT_RETRY)).rejects.toThrow('the queue is unreachable');
      expect(await work(jobIds)).toEqual([...jobIds].sort().map((jobId) => ({ job_id: jobId, dispatched: false, dispatch_count: 1 })));

      queue.addBulk = addBulk;
      expect(await dispatchNewWork(pool, queue, DEFAULT_RETRY)).toBe(2);
      expect(await work(jobIds)).toEqual([...jobIds].sort().map((jobId) => ({ job_id: jobId, dispatched: true, dispatch_count: 2 })));
      for (const jobId of jobIds) expect(await queue.getJobState(jobId)).toBe('waiting');
    });
  });
});
