import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { paymentStreamId } from '../../../commands/ids';
import { auditStreams } from '../../../infra/read-side';
import { registerReadSideCommands } from '../../../infra/cli/read-side-commands';
import { appendFacts, facts } from '../../support/payment-facts';
import { startWriteApi, type WriteApiHarness } from '../../support/write-api';

describe('audit verify', () => {
  let api: WriteApiHarness;
  let key: string;

  beforeAll(async () => {
    api = await startWriteApi();
    ({ key } = await api.newKey(`m_${randomUUID().slice(0, 8)}`));
  });
  afterAll(() => api.close());

  const createAuthorized = async () => {
    const response = await api.post(
      '/v1/payments',
      { amount: 4200, currency: 'usd', customer_id: 'cus_1', payment_method: 'pm_card_visa', capture_method: 'manual' },
      { key, idempotencyKey: randomUUID() },
    );
    await appendFacts(api.store, response.body.id, [facts.authorized(4200), facts.captured('cap_1', 4200, 152)]);
    return paymentStreamId(response.body.id as string);
  };

  /** Runs `ledger <args>` with this run's database; returns the exit code and what it printed. */
  const cli = async (...args: string[]) => {
    let out = '';
    let err = '';
    const program = new Command('ledger').exitOverride();
    registerReadSideCommands(program, {
      openDatabase: async () => ({ pool: api.pool, close: async () => undefined }),
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
    });
    const before = process.exitCode;
    await program.parseAsync(['node', 'ledger', ...args]);
    const code = process.exitCode ?? 0;
    process.exitCode = before;
    return { code, out, err };
  };

  describe('when no event was touched', () => {
    it('passes for the stream and exits 0', async () => {
      const stream = await createAuthorized();
      expect(await auditStreams(api.pool, { streamId: stream })).toEqual({ streams: 1, events: 3, failure: null });
      const run = await cli('audit', 'verify', '--stream', stream);
      expect(run.code).toBe(0);
      expect(run.out).toContain('audit passed: 1 streams, 3 events');
    });
  });

  describe("when one event's data is changed directly in Postgres", () => {
    it('fails and names that event: stream, revision and reason', async () => {
      const stream = await createAuthorized();
      const { rows } = await api.pool.query<{ data: Record<string, unknown> }>('select data from events where stream_id = $1 and revision = 1', [stream]);
      const original = rows[0]!.data;
      await api.pool.query('update events set data = $2 where stream_id = $1 and revision = 1', [stream, { ...original, processor_payment_id: 'pi_forged' }]);
      try {
        expect((await auditStreams(api.pool, { streamId: stream })).failure).toEqual({ streamId: stream, revision: 1, reason: 'hash_mismatch' });
        expect((await auditStreams(api.pool)).failure).toEqual({ streamId: stream, revision: 1, reason: 'hash_mismatch' });
        const run = await cli('audit', 'verify');
        expect(run.code).toBe(1);
        expect(run.err).toBe(`audit failed: stream ${stream}, revision 1: hash_mismatch\n`);
      } finally {
        await api.pool.query('update events set data = $2 where stream_id = $1 and revision = 1', [stream, original]);
      }
      expect((await auditStreams(api.pool, { streamId: stream })).failure).toBeNull();
    });
  });

  describe('when events are deleted', () => {
    // Not a payment stream: the projections of other test files must never see a stream with a hole.
    it('names the first missing revision, in the middle or at the end of the stream', async () => {
      const stream = `audit-${randomUUID()}`;
      const event = (n: number) => ({ type: 'Noted', data: { n }, metadata: { correlation_id: 'c', causation_id: 'c', actor: 'a', source: 'test' } });
      await api.store.append(stream, [event(0), event(1), event(2)], 'no_stream');
      const saved = await api.pool.query('select * from events where stream_id = $1 and revision >= 1 order by revision', [stream]);
      try {
        await api.pool.query('delete from events where stream_id = $1 and revision = 2', [stream]);
        expect((await auditStreams(api.pool, { streamId: stream })).failure).toEqual({ streamId: stream, revision: 2, reason: 'missing_events' });
        await api.pool.query('delete from events where stream_id = $1 and revision = 1', [stream]);
        expect((await auditStreams(api.pool, { streamId: stream })).failure).toEqual({ streamId: stream, revision: 1, reason: 'missing_events' });
        const run = await cli('audit', 'verify', '--stream', stream);
        expect(run.code).toBe(1);
        expect(run.err).toContain(`stream ${stream}, revision 1`);
      } finally {
        for (const row of saved.rows) {
          await api.pool.query(
            `insert into events (global_position, transaction_id, stream_id, revision, event_id, type, data, metadata, recorded_at, prev_hash, hash)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing`,
            [row.global_position, row.transaction_id, row.stream_id, row.revision, row.event_id, row.type, row.data, row.metadata, row.recorded_at, row.prev_hash, row.hash],
          );
        }
      }
      expect((await auditStreams(api.pool, { streamId: stream })).failure).toBeNull();
    });
  });
});
