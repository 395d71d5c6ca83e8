import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  comparePositions,
  formatPosition,
  START,
  StreamConflictError,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type RecordedEvent,
} from '../../../ports/event-store';

/**
 * The behaviour every EventStore adapter must show (DESIGN.md section 4), exercised through the port
 * only, against a real server and with real concurrency. Each test writes to fresh stream ids, so
 * the suite can share a database with anything else.
 *
 * Usage, from an adapter's spec:
 *   eventStoreContract('postgres', async () => ({ store, teardown: () => pool.end() }));
 */
export interface EventStoreUnderTest {
  readonly store: EventStore;
  teardown(): Promise<void>;
}

export function eventStoreContract(name: string, factory: () => Promise<EventStoreUnderTest>): void {
  describe(`${name} event store contract`, () => {
    let subject: EventStoreUnderTest;
    const store = (): EventStore => subject.store;

    beforeAll(async () => {
      subject = await factory();
    }, SLOW_TEST_MS);

    afterAll(async () => {
      await subject?.teardown();
    });

    describe('when a stream is written and read back', () => {
      it('returns the events with their ids, types, data and metadata, revisions 0..n and a linked hash chain', async () => {
        const streamId = freshStream('round-trip');
        const givenId = randomUUID();
        const events: NewEvent[] = [
          { ...newEvent('PaymentRequested', { amount: 1999, currency: 'eur', nested: { b: [1, 'two', null], a: true } }), id: givenId },
          newEvent('PaymentAuthorized', { amount_authorized: 1999, note: 'zürich ✓ "quoted" \\ back' }),
          newEvent('PaymentCaptured', { amount_captured: 1500, fee: 74, net: 1426 }),
        ];
        const before = Date.now();

        const result = await store().append(streamId, events, 'no_stream');
        const read = await store().read(streamId);

        expect(result.revision).toBe(2);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2]);
        expect(read.map((e) => e.streamId)).toEqual([streamId, streamId, streamId]);
        expect(read.map((e) => e.type)).toEqual(events.map((e) => e.type));
        expect(read.map((e) => e.data)).toEqual(events.map((e) => e.data));
        expect(read.map((e) => e.metadata)).toEqual(events.map((e) => e.metadata));
        expect(read[0]!.id).toBe(givenId);
        for (const event of read) expect(event.id).toMatch(UUID);
        expect(new Set(read.map((e) => e.id)).size).toBe(3);
        for (const event of read) {
          expect(event.recordedAt).toBeInstanceOf(Date);
          expect(Math.abs(event.recordedAt.getTime() - before)).toBeLessThan(60_000);
        }
        expectStrictlyIncreasing(read.map((e) => e.position));
        expect(formatPosition(result.position)).toBe(formatPosition(read[2]!.position));
        expect(read[0]!.prevHash).toBe('');
        expect(read[1]!.prevHash).toBe(read[0]!.hash);
        expect(read[2]!.prevHash).toBe(read[1]!.hash);
        expect(new Set(read.map((e) => e.hash)).size).toBe(3);
      });

      it('returns an empty array for a stream that does not exist', async () => {
        await expect(store().read(freshStream('missing'))).resolves.toEqual([]);
      });

      it("appends with 'any' to a new stream and then after its last event", async () => {
        const streamId = freshStream('any');
        const first = await store().append(streamId, [newEvent('A', { n: 0 }), newEvent('A', { n: 1 })], 'any');
        const second = await store().append(streamId, [newEvent('A', { n: 2 })], 'any');

        expect([first.revision, second.revision]).toEqual([1, 2]);
        expect((await store().read(streamId)).map((e) => e.data.n)).toEqual([0, 1, 2]);
        expect(comparePositions(second.position, first.position)).toBe(1);
      });

      it('rejects an append of no events as a programming error', async () => {
        const streamId = freshStream('empty');
        await expect(store().append(streamId, [], 'no_stream')).rejects.toThrow(TypeError);
        await expect(store().append(streamId, [], 'any')).rejects.toThrow(TypeError);
        await expect(store().read(streamId)).resolves.toEqual([]);
      });
    });

    describe('when the expected revision does not hold', () => {
      it("rejects 'no_stream' on an existing stream with StreamConflictError and leaves the stream as it was", async () => {
        const streamId = freshStream('no-stream');
        await store().append(streamId, [newEvent('A', { n: 0 }), newEvent('A', { n: 1 })], 'no_stream');

        const error = await rejectionOf(store().append(streamId, [newEvent('B', {})], 'no_stream'));

        expect(error).toBeInstanceOf(StreamConflictError);
        expect(error).toMatchObject({ streamId, expected: 'no_stream', actual: 1 });
        expect((await store().read(streamId)).map((e) => e.type)).toEqual(['A', 'A']);
      });

      it('rejects a stale explicit revision and accepts the current one', async () => {
        const streamId = freshStream('revision');
        await store().append(streamId, [newEvent('A', {})], 'no_stream');
        await store().append(streamId, [newEvent('B', {})], 0);

        const stale = await rejectionOf(store().append(streamId, [newEvent('Stale', {})], 0));
        const ahead = await rejectionOf(store().append(streamId, [newEvent('Ahead', {})], 2));
        const current = await store().append(streamId, [newEvent('C', {}), newEvent('D', {})], 1);

        expect(stale).toBeInstanceOf(StreamConflictError);
        expect(stale).toMatchObject({ streamId, expected: 0, actual: 1 });
        expect(ahead).toBeInstanceOf(StreamConflictError);
        expect(ahead).toMatchObject({ expected: 2, actual: 1 });
        expect(current.revision).toBe(3);
        expect((await store().read(streamId)).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
      });

      it("rejects an explicit revision on a stream that does not exist, reporting 'no_stream'", async () => {
        const streamId = freshStream('revision-missing');
        const error = await rejectionOf(store().append(streamId, [newEvent('A', {})], 0));

        expect(error).toBeInstanceOf(StreamConflictError);
        expect(error).toMatchObject({ streamId, expected: 0, actual: 'no_stream' });
        await expect(store().read(streamId)).resolves.toEqual([]);
      });
    });

    describe('when writers race on one stream', () => {
      it("lets exactly one of N concurrent 'no_stream' appends win, and the stream holds only the winner's events", async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 2, max: 64 }).chain((writers) =>
              fc.array(fc.integer({ min: 1, max: 3 }), { minLength: writers, maxLength: writers }),
            ),
            async (eventCounts) => {
              const streamId = freshStream('race');
              const batches = eventCounts.map((count, writer) =>
                Array.from({ length: count }, (_, n) => ({ ...newEvent('Raced', { writer, n }), id: randomUUID() })),
              );

              const outcomes = await Promise.allSettled(batches.map((batch) => store().append(streamId, batch, 'no_stream')));

              const winners = outcomes.flatMap((outcome, writer) => (outcome.status === 'fulfilled' ? [writer] : []));
              expect(winners).toHaveLength(1);
              const winner = winners[0]!;
              const winnerBatch = batches[winner]!;
              for (const outcome of outcomes) {
                if (outcome.status === 'fulfilled') continue;
                expect(outcome.reason).toBeInstanceOf(StreamConflictError);
                expect(outcome.reason).toMatchObject({ streamId, expected: 'no_stream', actual: winnerBatch.length - 1 });
              }
              const stream = await store().read(streamId);
              expect(stream.map((e) => e.id)).toEqual(winnerBatch.map((e) => e.id));
              expect(stream.map((e) => e.revision)).toEqual(winnerBatch.map((_, i) => i));
              expect(stream.every((e) => e.data.writer === winner)).toBe(true);
            },
          ),
          { numRuns: 40 },
        );
      }, SLOW_TEST_MS);

      it('lets exactly one of N concurrent appends at the current revision win', async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 2, max: 32 }), fc.integer({ min: 0, max: 3 }), async (writers, existing) => {
            const streamId = freshStream('race-revision');
            const seed = Array.from({ length: existing + 1 }, (_, n) => newEvent('Seeded', { n }));
            const { revision } = await store().append(streamId, seed, 'no_stream');

            const outcomes = await Promise.allSettled(
              Array.from({ length: writers }, (_, writer) => store().append(streamId, [newEvent('Raced', { writer })], revision)),
            );

            const winners = outcomes.filter((o) => o.status === 'fulfilled');
            expect(winners).toHaveLength(1);
            for (const outcome of outcomes) {
              if (outcome.status === 'rejected') {
                expect(outcome.reason).toBeInstanceOf(StreamConflictError);
                expect(outcome.reason).toMatchObject({ expected: revision, actual: revision + 1 });
              }
            }
            const stream = await store().read(streamId);
            expect(stream.map((e) => e.revision)).toEqual(Array.from({ length: existing + 2 }, (_, i) => i));
          }),
          { numRuns: 15 },
        );
      }, SLOW_TEST_MS);

      it("accepts every one of N concurrent 'any' appends, each batch contiguous in the stream", async () => {
        const streamId = freshStream('race-any');
        const writers = 16;
        const results = await Promise.all(
          Array.from({ length: writers }, (_, writer) =>
            store().append(streamId, [newEvent('Any', { writer, n: 0 }), newEvent('Any', { writer, n: 1 })], 'any'),
          ),
        );

        const stream = await store().read(streamId);
        expect(stream.map((e) => e.revision)).toEqual(Array.from({ length: writers * 2 }, (_, i) => i));
        for (let i = 0; i < stream.length; i += 2) {
          expect(stream[i + 1]!.data.writer).toBe(stream[i]!.data.writer);
          expect([stream[i]!.data.n, stream[i + 1]!.data.n]).toEqual([0, 1]);
        }
        expect(new Set(results.map((r) => r.revision))).toEqual(new Set(stream.filter((_, i) => i % 2 === 1).map((e) => e.revision)));
      }, SLOW_TEST_MS);
    });

    describe('when reading all streams', () => {
      it('pages strictly after the given position, at most batch events at a time', async () => {
        const prefix = freshPrefix('paging');
        await store().append(`${prefix}a`, [0, 1, 2].map((n) => newEvent('P', { n })), 'no_stream');
        await store().append(`${prefix}b`, [3, 4].map((n) => newEvent('P', { n })), 'no_stream');

        const pages: RecordedEvent[][] = [];
        let after: Position | null = START;
        for (let page = await store().readAll(after, { batch: 2, streamPrefix: prefix }); page.length > 0; ) {
          pages.push(page);
          after = page[page.length - 1]!.position;
          page = await store().readAll(after, { batch: 2, streamPrefix: prefix });
        }

        expect(pages.map((page) => page.map((e) => e.data.n))).toEqual([[0, 1], [2, 3], [4]]);
        const all = await store().readAll(START, { batch: 100, streamPrefix: prefix });
        const afterSecond = await store().readAll(all[1]!.position, { batch: 100, streamPrefix: prefix });
        expect(afterSecond.map((e) => e.data.n)).toEqual([2, 3, 4]);
      });

      it("treats the stream prefix literally, '_' and '%' included", async () => {
        const prefix = freshPrefix('literal');
        for (const suffix of ['a_b', 'axb', 'a%c', 'aXc', 'a\\d']) {
          await store().append(`${prefix}${suffix}`, [newEvent('L', { suffix })], 'no_stream');
        }

        const read = async (p: string) => (await store().readAll(START, { batch: 100, streamPrefix: p })).map((e) => e.data.suffix);

        await expect(read(`${prefix}a_`)).resolves.toEqual(['a_b']);
        await expect(read(`${prefix}a%`)).resolves.toEqual(['a%c']);
        await expect(read(`${prefix}a\\`)).resolves.toEqual(['a\\d']);
        await expect(read(`${prefix}a`)).resolves.toHaveLength(5);
      });

      it('gives a tailing reader every event committed by concurrent writers exactly once, in an order that never changes', async () => {
        const prefix = freshPrefix('tail');
        const streams = Array.from({ length: 12 }, (_, i) => `${prefix}${i}`);
        const writers = 8;
        const appendsPerWriter = 25;
        const committed = new Set<string>();
        const appendPositions = new Map<string, Position>();
        let writersDone = false;

        const known = new Map<string, number>();
        const writer = async (w: number): Promise<void> => {
          for (let k = 0; k < appendsPerWriter; k++) {
            const streamId = streams[(w * 5 + k * 7) % streams.length]!;
            const batch = Array.from({ length: 1 + ((w + k) % 3) }, (_, n) => ({ ...newEvent('Tail', { w, k, n }), id: randomUUID() }));
            for (;;) {
              const revision = known.get(streamId);
              const expected: ExpectedRevision = revision === undefined ? 'no_stream' : revision;
              try {
                const result = await store().append(streamId, batch, expected);
                known.set(streamId, Math.max(result.revision, known.get(streamId) ?? -1));
                for (const event of batch) committed.add(event.id);
                appendPositions.set(batch[batch.length - 1]!.id, result.position);
                break;
              } catch (error) {
                if (!(error instanceof StreamConflictError)) throw error;
                if (error.actual === 'no_stream') known.delete(streamId);
                else known.set(streamId, Math.max(error.actual, known.get(streamId) ?? -1));
              }
            }
          }
        };

        const seen: RecordedEvent[] = [];
        const reader = async (): Promise<void> => {
          // Once the writers are done the reader gets a while to catch up: an adapter may lag behind
          // commits (Postgres waits for every older transaction on the server), but must not skip.
          let deadline = Number.POSITIVE_INFINITY;
          let after: Position | null = START;
          for (;;) {
            const page = await store().readAll(after, { batch: 10, streamPrefix: prefix });
            seen.push(...page);
            if (page.length > 0) {
              after = page[page.length - 1]!.position;
              continue;
            }
            if (writersDone) {
              if (seen.length >= committed.size) return;
              deadline = Math.min(deadline, Date.now() + CATCH_UP_MS);
              if (Date.now() > deadline) return;
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        };

        const reading = reader();
        await Promise.all(Array.from({ length: writers }, (_, w) => writer(w))).finally(() => {
          writersDone = true;
        });
        await reading;

        const ids = seen.map((e) => e.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(new Set(ids)).toEqual(committed);
        expectStrictlyIncreasing(seen.map((e) => e.position));
        for (const streamId of streams) {
          const revisions = seen.filter((e) => e.streamId === streamId).map((e) => e.revision);
          expect(revisions).toEqual(revisions.map((_, i) => i));
        }
        const positionById = new Map(seen.map((e) => [e.id, e.position] as const));
        for (const [lastId, position] of appendPositions) {
          expect(formatPosition(positionById.get(lastId)!)).toBe(formatPosition(position));
        }

        const replay: RecordedEvent[] = [];
        let after: Position | null = START;
        for (let page = await store().readAll(after, { batch: 64, streamPrefix: prefix }); page.length > 0; ) {
          replay.push(...page);
          after = page[page.length - 1]!.position;
          page = await store().readAll(after, { batch: 64, streamPrefix: prefix });
        }
        expect(replay.map((e) => `${e.id}@${formatPosition(e.position)}`)).toEqual(
          seen.map((e) => `${e.id}@${formatPosition(e.position)}`),
        );
      }, SLOW_TEST_MS);
    });
  });
}

/** Per-test budget for the concurrency tests; the project's testTimeout does not reach per-project configs. */
const SLOW_TEST_MS = 30_000;
const CATCH_UP_MS = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function freshStream(kind: string): string {
  return `contract-${kind}-${randomUUID()}`;
}

function freshPrefix(kind: string): string {
  return `contract-${kind}-${randomUUID()}-`;
}

function newEvent(type: string, data: Record<string, unknown>): NewEvent {
  return {
    type,
    data,
    metadata: { correlation_id: randomUUID(), causation_id: randomUUID(), actor: 'contract-test', source: 'test', idempotency_key: 'k-1' },
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

function expectStrictlyIncreasing(positions: readonly Position[]): void {
  for (let i = 1; i < positions.length; i++) {
    if (comparePositions(positions[i - 1]!, positions[i]!) >= 0) {
      throw new Error(`positions not strictly increasing at ${i}: ${formatPosition(positions[i - 1]!)} then ${formatPosition(positions[i]!)}`);
    }
  }
}
