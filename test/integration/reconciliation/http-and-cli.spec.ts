import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Payment } from '../../../domain/payment.state';
import { createApiKey, postgresApiKeys } from '../../../infra/auth/api-keys';
import { createQueueKit } from '../../../infra/queue/bullmq';
import { createReadApi } from '../../../read-api/app';
import { createWriteApi } from '../../../write-api/app';
import type { StripeGateway } from '../../../processes/stripe-gateway';
import type { ReconciliationWindow } from '../../../processes/reconciliation';
import { startSaga, type SagaHarness } from '../../support/saga';
import { balanceTransactionsOf, editSandboxObject, inOwnWindow, reconciliationGateway } from './support';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

describe('reconciliation over HTTP, as a BullMQ job and from the CLI', () => {
  let saga: SagaHarness;
  let gateway: StripeGateway;
  let servers: Server[] = [];
  let writeUrl = '';
  let readUrl = '';
  let adminKey = '';
  const queueName = `reconciliation-${randomUUID().slice(0, 8)}`;
  let window: ReconciliationWindow;
  let payment: Payment;

  const listen = (app: { listen: (port: number, host: string, cb: () => void) => Server }) =>
    new Promise<string>((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
      servers.push(server);
    });

  beforeAll(async () => {
    saga = await startSaga({ backend: 'postgres', processes: { reconciliation: { cron: '15 0 * * *', queueName } } });
    gateway = reconciliationGateway(saga);
    const apiKeys = postgresApiKeys(saga.pool);
    adminKey = (await createApiKey(saga.pool, { merchantId: 'platform', scopes: ['admin'] })).key;
    const logError = (message: string, error: unknown) => console.error(message, error);
    writeUrl = await listen(
      createWriteApi({ store: saga.store, apiKeys, clock: () => new Date(), bodyLimitBytes: 65_536, logError, reconciliation: { pool: saga.pool } }),
    );
    readUrl = await listen(createReadApi({ pool: saga.pool, store: saga.store, apiKeys, logError }));
    window = await inOwnWindow(async () => {
      const id = await saga.createPayment({ amount: 2000 });
      payment = (await saga.waitFor(id, (s) => s.status === 'captured')) as Payment;
    });
    const [txn] = await balanceTransactionsOf(saga.pool, payment.processorChargeId!);
    await editSandboxObject(saga.pool, txn!.id, { fee: 90, net: 2000 - 90 });
  });
  afterAll(async () => {
    gateway.shutdown();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    servers = [];
    await saga.close();
  });

  const post = async (path: string, body: unknown, key: string | null = randomUUID(), apiKey = adminKey) => {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    if (key !== null) headers['idempotency-key'] = key;
    const response = await fetch(`${writeUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any, headers: response.headers, type: response.headers.get('content-type') };
  };
  const getRun = async (id: string, apiKey = adminKey) => {
    const response = await fetch(`${readUrl}/v1/reconciliation/runs/${id}`, { headers: { authorization: `Bearer ${apiKey}` } });
    return { status: response.status, body: (await response.json()) as any };
  };
  const eventually = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const cli = async (args: string[]) =>
    run(process.execPath, [join(ROOT, 'bin', 'ledger.js'), 'reconcile', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: saga.databaseUrl, STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_API_URL: saga.sandboxUrl, LOG_LEVEL: 'error' },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  describe('POST /v1/reconciliation/runs', () => {
    it('refuses a call without an Idempotency-Key, without the admin scope, or with a window that ends before it starts', async () => {
      const missing = await post('/v1/reconciliation/runs', window, null);
      expect([missing.status, missing.body.code, missing.type]).toEqual([400, 'idempotency_key_missing', 'application/problem+json; charset=utf-8']);
      expect((await post('/v1/reconciliation/runs', window, randomUUID(), saga.key)).body.code).toBe('forbidden');
      const backwards = await post('/v1/reconciliation/runs', { from: window.to, to: window.from });
      expect([backwards.status, backwards.body.code, backwards.body.errors[0].field]).toEqual([400, 'validation_failed', 'to']);
      expect((await post('/v1/reconciliation/runs', { from: 'yesterday', to: window.to })).body.code).toBe('validation_failed');
    });

    it('answers 202, replays the same key, refuses the key with another window; the processes run it and GET serves it', async () => {
      const key = randomUUID();
      const first = await post('/v1/reconciliation/runs', window, key);
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ object: 'reconciliation_run', status: 'requested', from: window.from, to: window.to, trigger: 'api' });
      const again = await post('/v1/reconciliation/runs', window, key);
      expect([again.status, again.headers.get('idempotent-replayed'), again.body.id]).toEqual([202, 'true', first.body.id]);
      const reused = await post('/v1/reconciliation/runs', { ...window, to: new Date(Date.parse(window.to) + 1000).toISOString() }, key);
      expect([reused.status, reused.body.code]).toEqual([422, 'idempotency_key_reused']);

      const done = await eventually(async () => {
        const { body } = await getRun(first.body.id);
        return body.status === 'completed' ? body : undefined;
      }, 'the run to complete');
      expect(done.discrepancies).toEqual([
        expect.objectContaining({ kind: 'fee_mismatch', payment_id: payment.paymentId, expected: { fee: 88 }, actual: { fee: 90 }, status: 'open' }),
      ]);
      expect(done.unresolved).toBe(1);
      expect((await getRun(first.body.id, saga.key)).status).toBe(403);
      expect((await getRun(randomUUID())).body.code).toBe('run_not_found');

      // The CLI over the same window finds the same open discrepancy and exits 1.
      const failing = await cli(['--from', window.from, '--to', window.to]);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/fee_mismatch\s+\S+\s+ch_\w+\s+fee=88\s+fee=90\s+open/);
      expect(failing.stdout).toContain('1 unresolved');

      // A person accepts it; the resolution is an event, replayable under its key.
      const discrepancyId = done.discrepancies[0].discrepancy_id as string;
      const path = `/v1/reconciliation/discrepancies/${discrepancyId}/resolve`;
      expect((await post(path, { resolution: 'accepted' })).body.code).toBe('validation_failed');
      expect((await post(path, { resolution: 'ignored', note: 'x' })).body.code).toBe('validation_failed');
      expect((await post(`/v1/reconciliation/discrepancies/${randomUUID()}/resolve`, { resolution: 'accepted', note: 'x' })).body.code).toBe(
        'discrepancy_not_found',
      );
      const resolveKey = randomUUID();
      const body = { resolution: 'accepted', note: 'Stripe confirmed the 2 cent adjustment' };
      const resolved = await eventually(async () => {
        const answer = await post(path, body, resolveKey);
        return answer.status === 404 ? undefined : answer;
      }, 'the read model to know the discrepancy');
      expect(resolved.status).toBe(200);
      expect(resolved.body).toMatchObject({ object: 'reconciliation_discrepancy', run_id: first.body.id, status: 'resolved', resolution: { resolution: 'accepted', note: body.note } });
      expect((await post(path, body, resolveKey)).headers.get('idempotent-replayed')).toBe('true');
      expect((await post(path, { ...body, resolution: 'fixed_by_booking' }, resolveKey)).body.code).toBe('idempotency_key_reused');
      expect((await post(path, body)).body.code).toBe('discrepancy_not_open');
      expect((await getRun(first.body.id)).body).toMatchObject({ unresolved: 0 });
      const stream = await saga.store.read(`reconciliation-${first.body.id}`);
      expect(stream.map((e) => e.type)).toEqual([
        'ReconciliationRequested',
        'ReconciliationStarted',
        'DiscrepancyFound',
        'ReconciliationCompleted',
        'DiscrepancyResolved',
      ]);

      // The same disagreement found again is resolved as the person resolved it: the CLI exits 0.
      const passing = await cli(['--from', window.from, '--to', window.to, '--json']);
      expect(passing.code).toBe(0);
      const report = JSON.parse(passing.stdout);
      expect(report.discrepancies).toEqual([expect.objectContaining({ kind: 'fee_mismatch', status: 'resolved' })]);
      expect(report.discrepancies[0].resolution.note).toContain(discrepancyId);
      expect(passing.stderr).toContain('reconcile');
    });
  });

  describe('ledger reconcile', () => {
    it('exits 0 on a clean window and prints the summary table', async () => {
      const clean = await inOwnWindow(async () => {
        const id = await saga.createPayment({ amount: 1200 });
        await saga.waitFor(id, (s) => s.status === 'captured');
      });
      const result = await cli(['--from', clean.from, '--to', clean.to]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('discrepancies 0: 0 healed, 0 resolved, 0 unresolved');
      expect(result.stdout).toMatch(/usd\s+1135\s+1135\s+0/);
    });

    it('refuses a window given backwards', async () => {
      const result = await cli(['--from', window.to, '--to', window.from]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('--from must be before --to');
    });
  });

  describe('the daily job', () => {
    it('is registered as a repeatable BullMQ job with the configured pattern', async () => {
      const kit = createQueueKit({ databaseUrl: saga.databaseUrl });
      try {
        const scheduler = await kit.queue(queueName).getJobScheduler('daily-reconciliation');
        expect(scheduler).toMatchObject({ pattern: '15 0 * * *', tz: 'UTC' });
      } finally {
        await kit.close();
      }
    });
  });
});
