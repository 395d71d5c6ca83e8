import { createQueueKit, type QueueKit } from '../../../infra/queue/bullmq';
import { isolatedDatabase } from '../../support/postgres';
import { eventually, relayTo, type Relay } from './support';

/**
 * BullMQ on Postgres through a relay that can cut every connection: the processes role must live
 * through an outage (no busy loop, no runaway memory) and take jobs again once Postgres is back.
 */
describe('the queue kit on Postgres through an outage', () => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let relay: Relay;
  let viaRelay: string;

  beforeAll(async () => {
    database = await isolatedDatabase('queue_outage');
    relay = await relayTo(new URL(database.url));
    const url = new URL(database.url);
    url.hostname = '127.0.0.1';
    url.port = String(relay.port);
    viaRelay = url.toString();
  });
  afterAll(async () => {
    await relay.stop();
    await database.drop();
  });

  it('takes jobs again once Postgres is back, without spinning while it is gone', async () => {
    const kit = createQueueKit({ databaseUrl: viaRelay });
    const done: string[] = [];
    let errors = 0;
    try {
      const queue = kit.queue<{ id: string }>('outage');
      const worker = kit.worker<{ id: string }>('outage', async (job) => void done.push(job.data.id), { concurrency: 4 });
      worker.on('error', () => (errors += 1));
      await kit.ready();
      await queue.add('job', { id: 'before' });
      await eventually(async () => done, (ids) => ids.includes('before'), 15_000);
      expect(done).toEqual(['before']);

      await relay.stop();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const duringOutage = errors;
      await relay.start();

      const added = await eventually(
        () => queue.add('job', { id: 'after' }).then(() => true, () => false),
        (ok) => ok,
        20_000,
      );
      expect(added).toBe(true);
      await eventually(async () => done, (ids) => ids.includes('after'), 30_000);
      expect(done).toEqual(['before', 'after']);
      // A worker that retried at once would have raised thousands of errors in three seconds.
      expect(duringOutage).toBeLessThan(50);
    } finally {
      await kit.close();
    }
  }, 90_000);

  it('refuses to start while Postgres is down, instead of starting a worker that can never connect', async () => {
    await relay.stop();
    const kit = createQueueKit({ databaseUrl: viaRelay });
    let errors = 0;
    try {
      const worker = kit.worker('never', async () => undefined, {});
      worker.on('error', () => (errors += 1));
      await expect(kit.ready()).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(worker.isRunning()).toBe(false);
      expect(errors).toBe(0);
    } finally {
      await kit.close();
      await relay.start();
    }
  }, 30_000);
});
