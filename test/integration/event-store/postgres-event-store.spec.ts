import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { eventHash, verifyChain } from '../../../infra/event-store/hash-chain';
import { migrate } from '../../../infra/postgres/migrate';
import { comparePositions, START, StreamConflictError, type EventStore, type NewEvent, type RecordedEvent } from '../../../ports/event-store';
import { testPool } from '../../support/postgres';
import { eventStoreContract } from './event-store.contract';

// 32 connections let the race properties run up to 32 appends truly at once while leaving room on a
// 100-connection server for the other suites that share it.
eventStoreContract('postgres', async () => {
  const pool = testPool(32);
  await migrate(pool);
  const store = createPostgresEventStore(pool);
  return {
    store,
    teardown: async () => {
      await store.close();
      await pool.end();
    },
  };
});

describe('postgres event store', () => {
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    pool = testPool(8);
    await migrate(pool);
    store = createPostgresEventStore(pool);
  }, 30_000);

  afterAll(async () => {
    await store.close();
    await pool.end();
  });

  describe('when events are appended', () => {
    it('stores recorded_at from the clock to the millisecond and a hash chain computed from the content sent', async () => {
      const instants = ['2024-05-01T12:34:56.789Z', '2024-05-01T12:34:57.001Z'].map((iso) => new Date(iso));
      const clocked = createPostgresEventStore(pool, { clock: () => instants.shift()! });
      const streamId = `pg-hash-${randomUUID()}`;
      // Keys out of jsonb's order (it sorts shorter keys first), so the hash must not depend on it.
      const first = event('PaymentRequested', { zeta: 1, a: { long_key: 'x', k: [3, 2, 1] }, amount: 1999 });
      const second = event('PaymentAuthorized', { amount_authorized: 1999, b: null, text: 'naïve – “quotes”' });
      await clocked.append(streamId, [first], 'no_stream');
      await clocked.append(streamId, [second], 0);

      const read = await store.read(streamId);
      const { rows } = await pool.query<{ prev_hash: string; hash: string; recorded_at: Date; data: string }>(
        'select prev_hash, hash, recorded_at, data::text as data from events where stream_id = $1 order by revision',
        [streamId],
      );

      const hash0 = eventHash('', { streamId, revision: 0, id: first.id!, ...first, recordedAt: new Date('2024-05-01T12:34:56.789Z') });
      const hash1 = eventHash(hash0, { streamId, revision: 1, id: second.id!, ...second, recordedAt: new Date('2024-05-01T12:34:57.001Z') });
      expect(rows.map((r) => [r.prev_hash, r.hash])).toEqual([
        ['', hash0],
        [hash0, hash1],
      ]);
      expect(rows.map((r) => r.recorded_at.toISOString())).toEqual(['2024-05-01T12:34:56.789Z', '2024-05-01T12:34:57.001Z']);
      expect(rows[0]!.data.indexOf('"a"')).toBeLessThan(rows[0]!.data.indexOf('"zeta"'));
      expect(read.map((e) => e.recordedAt.toISOString())).toEqual(['2024-05-01T12:34:56.789Z', '2024-05-01T12:34:57.001Z']);
      expect(verifyChain(read)).toEqual({ ok: true });
    });

    it('reports as its position the writing transaction id and the global_position of the last event', async () => {
      const streamId = `pg-position-${randomUUID()}`;
      const result = await store.append(streamId, [event('A', {}), event('B', {})], 'no_stream');

      const { rows } = await pool.query<{ transaction_id: string; global_position: string }>(
        'select transaction_id::text, global_position from events where stream_id = $1 and revision = 1',
        [streamId],
      );
      expect(result.position).toEqual({ commit: BigInt(rows[0]!.transaction_id), prepare: BigInt(rows[0]!.global_position) });
      expect(typeof result.position.commit).toBe('bigint');
    });

    it('turns a unique violation on (stream_id, revision) into StreamConflictError', async () => {
      const streamId = `pg-unique-${randomUUID()}`;
      await store.append(streamId, [event('A', {})], 'no_stream');
      // A writer that bypassed the streams table already took revision 1.
      await insertRawEvent(pool, streamId, 1, 'Foreign');

      const error = await store.append(streamId, [event('B', {})], 'any').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(StreamConflictError);
      expect(error).toMatchObject({ streamId, expected: 'any', actual: 0 });
      const { rows } = await pool.query('select revision from streams where stream_id = $1', [streamId]);
      expect(rows).toEqual([{ revision: '0' }]);
    });
  });

  describe('when a stream is appended to after a revision the store has seen', () => {
    it('sends an append to a new stream, or after the revision it last read or wrote, as one statement', async () => {
      const streamId = `pg-round-trips-${randomUUID()}`;
      const reader = createPostgresEventStore(pool);
      const queries = jest.spyOn(pool, 'query');
      const statementsOf = async (step: () => Promise<unknown>): Promise<number> => {
        const before = queries.mock.calls.length;
        await step();
        return queries.mock.calls.length - before;
      };
      try {
        const counts = [
          await statementsOf(() => store.append(streamId, [event('A', {})], 'no_stream')),
          await statementsOf(() => store.append(streamId, [event('B', {}), event('C', {})], 0)),
          await statementsOf(() => reader.read(streamId)),
          await statementsOf(() => reader.append(streamId, [event('D', {})], 2)),
          // This store last saw revision 2: it reads the hash at 3 before appending.
          await statementsOf(() => store.append(streamId, [event('E', {})], 3)),
        ];

        expect(counts).toEqual([1, 1, 1, 1, 2]);
      } finally {
        queries.mockRestore();
      }
      expect(verifyChain(await store.read(streamId))).toEqual({ ok: true });
    });

    it('chains to the stored last event when the hash it saw there is stale, and still reports a conflict when the stream moved', async () => {
      const streamId = `pg-stale-tail-${randomUUID()}`;
      await store.append(streamId, [event('Forgotten', { n: 1 })], 'no_stream');
      // The stream is written anew behind this store's back, so its revision 0 has another hash.
      await pool.query('delete from events where stream_id = $1', [streamId]);
      await pool.query('delete from streams where stream_id = $1', [streamId]);
      const other = createPostgresEventStore(pool);
      await other.append(streamId, [event('Rewritten', { n: 2 })], 'no_stream');

      await store.append(streamId, [event('Next', {})], 0);
      await other.append(streamId, [event('Moved', {})], 1);
      const conflict = await store.append(streamId, [event('Late', {})], 1).catch((e: unknown) => e);

      const read = await store.read(streamId);
      expect(read.map((e) => e.type)).toEqual(['Rewritten', 'Next', 'Moved']);
      expect(verifyChain(read)).toEqual({ ok: true });
      expect(conflict).toBeInstanceOf(StreamConflictError);
      expect(conflict).toMatchObject({ streamId, expected: 1, actual: 2 });
    });
  });

  describe('when an event is changed or removed in SQL', () => {
    let streamId: string;

    beforeEach(async () => {
      streamId = `pg-tamper-${randomUUID()}`;
      await store.append(streamId, [event('A', { amount: 100 }), event('B', { amount: 200 })], 'no_stream');
      await store.append(streamId, [event('C', { amount: 300 }), event('D', { amount: 400 })], 1);
      expect(verifyChain(await store.read(streamId))).toEqual({ ok: true });
    });

    it.each([
      ['data', `data = jsonb_set(data, '{amount}', '201')`],
      ['metadata', `metadata = jsonb_set(metadata, '{actor}', '"mallory"')`],
      ['type', `type = 'Z'`],
      ['recorded_at', `recorded_at = recorded_at + interval '1 millisecond'`],
      ['event_id', `event_id = gen_random_uuid()`],
    ])('names revision 1 as a hash mismatch when its %s is edited', async (_column, assignment) => {
      await pool.query(`update events set ${assignment} where stream_id = $1 and revision = 1`, [streamId]);

      expect(verifyChain(await store.read(streamId))).toEqual({ ok: false, revision: 1, reason: 'hash_mismatch' });
    });

    it("names the next revision when the edited event's own hash is recomputed", async () => {
      const [, target] = await store.read(streamId);
      const forged = { ...target!, data: { amount: 1 } };
      await pool.query(`update events set data = '{"amount": 1}', hash = $3 where stream_id = $1 and revision = $2`, [
        streamId,
        1,
        eventHash(forged.prevHash, forged),
      ]);

      expect(verifyChain(await store.read(streamId))).toEqual({ ok: false, revision: 2, reason: 'prev_hash_mismatch' });
    });

    it('names the missing revision when an event is deleted', async () => {
      await pool.query('delete from events where stream_id = $1 and revision = 1', [streamId]);

      expect(verifyChain(await store.read(streamId))).toEqual({ ok: false, revision: 1, reason: 'revision_gap' });
    });
  });

  describe('when transaction ids differ in their number of digits', () => {
    it('orders readAll by transaction id as a number, not as text', async () => {
      const prefix = `pg-xid-order-${randomUUID()}-`;
      // Rows stamped with old transaction ids by hand: 10 must come after 9 although '10' < '9' as text.
      for (const [stream, xid] of [['a', '10'], ['b', '9']] as const) {
        await pool.query('insert into streams (stream_id, revision) values ($1, 0)', [`${prefix}${stream}`]);
        await pool.query(
          `insert into events (transaction_id, stream_id, revision, event_id, type, data, metadata, recorded_at, prev_hash, hash)
           values ($1::xid8, $2, 0, $3, 'Raw', '{}', '{}', now(), '', '')`,
          [xid, `${prefix}${stream}`, randomUUID()],
        );
      }

      const read = await store.readAll(START, { batch: 10, streamPrefix: prefix });

      expect(read.map((e) => e.position.commit)).toEqual([9n, 10n]);
    });
  });

  describe('when a slower transaction commits after a later one', () => {
    it('holds readAll back until it commits, then returns its event after the reader position without skipping it', async () => {
      const prefix = `pg-slow-${randomUUID()}-`;
      await store.append(`${prefix}before`, [event('Before', {})], 'no_stream');
      const [before] = await store.readAll(START, { batch: 10, streamPrefix: prefix });
      expect(before?.type).toBe('Before');

      const slow = await pool.connect();
      try {
        await slow.query('begin');
        await insertRawEvent(slow, `${prefix}slow`, 0, 'Slow');
        await store.append(`${prefix}fast`, [event('Fast', {})], 'no_stream');

        expect((await store.read(`${prefix}fast`)).map((e) => e.type)).toEqual(['Fast']);
        await expect(store.readAll(before!.position, { batch: 10, streamPrefix: prefix })).resolves.toEqual([]);

        await slow.query('commit');
      } catch (error) {
        await slow.query('rollback');
        throw error;
      } finally {
        slow.release();
      }

      const after = await readUntil(store, before!, prefix, 2);
      expect(after.map((e) => e.type)).toEqual(['Slow', 'Fast']);
      for (const e of after) expect(comparePositions(e.position, before!.position)).toBe(1);
      expect(verifyChain(await store.read(`${prefix}slow`))).toEqual({ ok: true });
    }, 30_000);
  });
});

function event(type: string, data: Record<string, unknown>): NewEvent {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { correlation_id: randomUUID(), causation_id: randomUUID(), actor: 'spec', source: 'test' },
  };
}

/** Writes one event the way a foreign writer would, in the caller's transaction, with a valid hash. */
async function insertRawEvent(db: Pick<Pool, 'query'>, streamId: string, revision: number, type: string): Promise<void> {
  const raw = { streamId, revision, ...event(type, {}), id: randomUUID(), recordedAt: new Date() };
  const prev = await db.query<{ hash: string }>('select hash from events where stream_id = $1 and revision = $2', [streamId, revision - 1]);
  const prevHash = prev.rows[0]?.hash ?? '';
  if (revision === 0) await db.query('insert into streams (stream_id, revision) values ($1, 0)', [streamId]);
  await db.query(
    `insert into events (stream_id, revision, event_id, type, data, metadata, recorded_at, prev_hash, hash)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [streamId, revision, raw.id, type, JSON.stringify(raw.data), JSON.stringify(raw.metadata), raw.recordedAt, prevHash, eventHash(prevHash, raw)],
  );
}

/**
 * Reads after `from` until `count` events arrived. Any other transaction open on the server holds
 * readAll back for as long as it lasts, so this waits a little rather than read once.
 */
async function readUntil(store: EventStore, from: RecordedEvent, prefix: string, count: number): Promise<RecordedEvent[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = await store.readAll(from.position, { batch: 10, streamPrefix: prefix });
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
