import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { EventStore, Position } from '../../../ports/event-store';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { migrate } from '../../../infra/postgres/migrate';
import type { Projection } from '../../../projections';
import { readCheckpoint, startProjectionRunner } from '../../../projections';
import { testPool } from '../../support/postgres';
import { waitForProjections } from '../../support/read-side';

/**
 * A projection that counts how often each event reached it, and is deliberately NOT idempotent:
 * a count of 2 can only come from the runner applying an event twice.
 */
function countingProjection(prefix: string, table: string, before?: (n: number, tx: Parameters<Projection['apply']>[1]) => Promise<void>): Projection {
  let applied = 0;
  return {
    name: `count-${prefix}`,
    tables: [table],
    streamPrefix: prefix,
    async apply(event, tx) {
      applied += 1;
      await before?.(applied, tx);
      await tx.query(
        `insert into ${tx.table(table)} (event_id, times) values ($1, 1) on conflict (event_id) do update set times = ${tx.table(table)}.times + 1`,
        [event.id],
      );
    },
  };
}

describe('the projection runner', () => {
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    pool = testPool(20);
    await migrate(pool);
    store = createPostgresEventStore(pool);
  });
  afterAll(() => pool.end());

  /** 50 events over 5 streams, appended in 10 transactions; returns the last position. */
  async function seed(prefix: string): Promise<Position> {
    let last: Position | null = null;
    for (let round = 0; round < 2; round += 1) {
      for (let s = 0; s < 5; s += 1) {
        const events = Array.from({ length: 5 }, (_, i) => ({
          type: 'Counted',
          data: { n: round * 5 + i },
          metadata: { correlation_id: 'c', causation_id: 'c', actor: 'test', source: 'test' },
        }));
        last = (await store.append(`${prefix}${s}`, events, 'any')).position;
      }
    }
    return last!;
  }

  async function freshTable(): Promise<string> {
    const table = `applied_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await pool.query(`create table ${table} (event_id uuid primary key, times int not null)`);
    return table;
  }

  async function counts(table: string): Promise<{ rows: number; max: number }> {
    const { rows } = await pool.query<{ rows: number; max: number }>(`select count(*)::int as rows, coalesce(max(times), 0) as max from ${table}`);
    return rows[0]!;
  }

  describe('when it crashes in the middle of a batch and is restarted', () => {
    it('has applied every event exactly once', async () => {
      const prefix = `crash-${randomUUID()}-`;
      const table = await freshTable();
      const last = await seed(prefix);

      let failed!: () => void;
      const crashed = new Promise<void>((resolve) => (failed = resolve));
      const crashing = countingProjection(prefix, table, async (n) => {
        if (n === 30) throw new Error('injected crash after 29 events');
      });
      const first = startProjectionRunner(pool, store, crashing, { batch: 20, pollMs: 20, lockPollMs: 20, retryMs: 10_000, onError: () => failed() });
      await crashed;
      await first.stop();

      // The first batch of 20 committed with its checkpoint; the 9 events of the second did not.
      expect(await counts(table)).toEqual({ rows: 20, max: 1 });
      const afterCrash = await readCheckpoint(pool, crashing.name);
      const twentieth = (await store.readAll(null, { batch: 20, streamPrefix: prefix }))[19]!.position;
      expect(afterCrash).toEqual(twentieth);

      const second = startProjectionRunner(pool, store, countingProjection(prefix, table), { batch: 20, pollMs: 20, lockPollMs: 20 });
      try {
        await waitForProjections(pool, last, [crashing.name]);
      } finally {
        await second.stop();
      }
      expect(await counts(table)).toEqual({ rows: 50, max: 1 });
    });
  });

  describe('when its connection is killed in the middle of a batch', () => {
    it('rolls the batch back, carries on, and applies every event exactly once', async () => {
      const prefix = `killed-${randomUUID()}-`;
      const table = await freshTable();
      const last = await seed(prefix);
      let errors = 0;
      const projection = countingProjection(prefix, table, async (n, tx) => {
        if (n === 27) await tx.query('select pg_terminate_backend(pg_backend_pid())');
      });
      const runner = startProjectionRunner(pool, store, projection, { batch: 20, pollMs: 20, lockPollMs: 20, retryMs: 20, onError: () => (errors += 1) });
      try {
        await waitForProjections(pool, last, [projection.name]);
      } finally {
        await runner.stop();
      }
      expect(errors).toBeGreaterThanOrEqual(1);
      expect(await counts(table)).toEqual({ rows: 50, max: 1 });
    });
  });

  describe('when two instances run the same projection', () => {
    it('lets one be active, and the other take over when it stops', async () => {
      const prefix = `pair-${randomUUID()}-`;
      const table = await freshTable();
      const last = await seed(prefix);
      const projection = countingProjection(prefix, table);
      const options = { batch: 7, pollMs: 20, lockPollMs: 20 };
      const a = startProjectionRunner(pool, store, projection, options);
      const b = startProjectionRunner(pool, store, projection, options);
      try {
        await waitForProjections(pool, last, [projection.name]);
        expect([a.isActive(), b.isActive()].filter(Boolean)).toHaveLength(1);
        const [active, standby] = a.isActive() ? [a, b] : [b, a];
        await active.stop();
        const deadline = Date.now() + 5000;
        while (!standby.isActive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(standby.isActive()).toBe(true);
        const more = (await store.append(`${prefix}9`, [{ type: 'Counted', data: {}, metadata: { correlation_id: 'c', causation_id: 'c', actor: 't', source: 't' } }], 'any')).position;
        await waitForProjections(pool, more, [projection.name]);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
      expect(await counts(table)).toEqual({ rows: 51, max: 1 });
    });
  });
});
