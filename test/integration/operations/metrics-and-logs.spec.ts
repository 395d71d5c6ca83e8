import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { postgresApiKeys } from '../../../infra/auth/api-keys';
import { postgresCheck } from '../../../infra/health';
import { createMetrics, instrumentEventStore } from '../../../infra/metrics';
import type { LedgerMetrics } from '../../../infra/metrics';
import { openApiDocument } from '../../../infra/openapi';
import { startReadSide } from '../../../infra/read-side';
import type { RunningReadSide } from '../../../infra/read-side';
import { apiOperations, observeProjection, sagaHooks, watchPayments, watchProcesses, watchProjectionLag } from '../../../infra/telemetry';
import type { TelemetryLog } from '../../../infra/telemetry';
import { PROJECTIONS } from '../../../projections';
import { sagaPaymentsProjection, sagaWebhooksProjection } from '../../../processes/saga-work';
import { createWriteApi } from '../../../write-api/app';
import type { EventStore } from '../../../ports/event-store';
import { captureLogs } from '../../support/log-capture';
import type { LogCapture } from '../../support/log-capture';
import { sagaBackends, startSaga } from '../../support/saga';
import type { SagaHarness } from '../../support/saga';
import { closeServer, eventually, listen, metricNames, scrape, sumOf, valueOf } from './support';
import type { Sample } from './support';

/**
 * One process's worth of the ledger, as role `all` wires it (infra/system.ts), over the saga
 * harness's database and stripe-sandbox: a write API and a read API with their operations routes,
 * the processes role and the projections, all on one metrics registry and one captured logger.
 */
describe.each(sagaBackends())('operations of the saga on the %s backend', (backend) => {
  let saga: SagaHarness;
  let metrics: LedgerMetrics;
  let logs: LogCapture;
  let store: EventStore;
  let writeServer: Server;
  let writeUrl: string;
  let readSide: RunningReadSide;

  beforeAll(async () => {
    logs = captureLogs('operations');
    metrics = createMetrics();
    const log: TelemetryLog = (level, message, meta) => logs.logger.log(level, message, meta);
    saga = await startSaga({ backend, withoutProcesses: true });
    store = instrumentEventStore(saga.store, metrics);
    const checks = [postgresCheck(saga.pool)];

    const processes = await saga.startProcesses({ store, log, ...sagaHooks(metrics, log) });
    watchProcesses(metrics, processes, saga.pool);
    watchProjectionLag(metrics, saga.pool, store, [sagaPaymentsProjection, sagaWebhooksProjection]);

    readSide = await startReadSide({
      pool: saga.pool,
      store,
      apiKeys: postgresApiKeys(saga.pool),
      host: '127.0.0.1',
      port: 0,
      log: { info: (message, meta) => logs.logger.info(message, meta), error: (message, meta) => logs.logger.error(message, meta) },
      runner: { pollMs: 20, lockPollMs: 50, retryMs: 100 },
      operations: apiOperations({ metrics, checks, document: openApiDocument('read'), log }),
      observe: (projection) => observeProjection(projection, metrics, log),
    });
    watchPayments(metrics, saga.pool);
    watchProjectionLag(metrics, saga.pool, store, PROJECTIONS);

    const writeApp = createWriteApi({
      store,
      apiKeys: postgresApiKeys(saga.pool),
      clock: () => new Date(),
      bodyLimitBytes: 65_536,
      logError: logs.logError,
      operations: apiOperations({ metrics, checks, document: openApiDocument('write'), log }),
    });
    ({ server: writeServer, url: writeUrl } = await listen(writeApp));
  }, 60_000);

  afterAll(async () => {
    await closeServer(writeServer);
    await readSide.stop();
    await saga.close();
  });

  const post = async (path: string, body: unknown, options: { idempotencyKey?: string; correlationId?: string } = {}) => {
    const response = await fetch(`${writeUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${saga.key}`,
        'idempotency-key': options.idempotencyKey ?? randomUUID(),
        'content-type': 'application/json',
        ...(options.correlationId ? { 'x-correlation-id': options.correlationId } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { id: string }, replayed: response.headers.get('idempotent-replayed') };
  };
  const create = async (body: Record<string, unknown>, options: { idempotencyKey?: string; correlationId?: string } = {}) => {
    const response = await post('/v1/payments', { currency: 'usd', customer_id: 'cus_ops', payment_method: 'pm_card_visa', ...body }, options);
    expect(response.status).toBe(202);
    return response.body.id;
  };

  describe('when payments go through capture, refund, decline and cancel', () => {
    let samples: Sample[];
    let refundedId: string;
    const correlationId = `corr-${randomUUID()}`;
    const createKey = randomUUID();

    beforeAll(async () => {
      // 1: automatic capture, then a partial refund.
      refundedId = await create({ amount: 2000 }, { idempotencyKey: createKey, correlationId });
      await saga.waitFor(refundedId, (state) => state.status === 'captured');
      expect((await post(`/v1/payments/${refundedId}/refunds`, { amount: 500 })).status).toBe(202);
      // 2: manual capture of part of the authorization.
      const manual = await create({ amount: 5000, capture_method: 'manual' });
      await saga.waitFor(manual, (state) => state.status === 'authorized');
      expect((await post(`/v1/payments/${manual}/capture`, { amount: 3000 })).status).toBe(202);
      // 3: a decline.
      const declined = await create({ amount: 2500, payment_method: 'pm_card_chargeDeclined' });
      // 4: a cancel after the authorization.
      const canceled = await create({ amount: 1500, capture_method: 'manual' });
      await saga.waitFor(canceled, (state) => state.status === 'authorized');
      expect((await post(`/v1/payments/${canceled}/cancel`, {})).status).toBe(202);
      // The first create again: an idempotent replay.
      const replay = await post('/v1/payments', { amount: 2000, currency: 'usd', customer_id: 'cus_ops', payment_method: 'pm_card_visa' }, { idempotencyKey: createKey });
      expect(replay.replayed).toBe('true');
      // A path no route has.
      expect((await fetch(`${writeUrl}/v1/nothing-here/${randomUUID()}`)).status).toBe(404);
      // A conflict on a stream no projection reads.
      const other = `ops-conflict-${randomUUID()}`;
      const event = { type: 'Probe', data: {}, metadata: { correlation_id: 'c', causation_id: 'c', actor: 'test', source: 'test' } };
      await store.append(other, [event], 'no_stream');
      await expect(store.append(other, [event], 'no_stream')).rejects.toThrow('expected revision no_stream');

      await saga.waitFor(refundedId, (state) => state.status === 'partially_refunded');
      await saga.waitFor(manual, (state) => state.status === 'captured');
      await saga.waitFor(declined, (state) => state.status === 'failed');
      await saga.waitFor(canceled, (state) => state.status === 'canceled');
      await saga.processes.sweep();
      samples = await eventually(
        () => scrape(writeUrl),
        // Webhooks keep arriving after the payments settle: scrape once their work is done too.
        (s) =>
          sumOf(s, 'ledger_projection_lag_events') === 0 &&
          valueOf(s, 'ledger_payments', { status: 'canceled' }) === 1 &&
          sumOf(s, 'ledger_saga_open_work') === 0,
      );
    }, 90_000);

    it('counts payments by status from the payments read model', () => {
      const byStatus = Object.fromEntries(samples.filter((s) => s.name === 'ledger_payments').map((s) => [s.labels.status, s.value]));
      expect(byStatus).toEqual({ requested: 0, authorized: 0, captured: 1, partially_refunded: 1, refunded: 0, failed: 1, canceled: 1 });
    });

    it('counts each payment event the payments projection committed, once', () => {
      const byType = Object.fromEntries(samples.filter((s) => s.name === 'ledger_payment_events_total').map((s) => [s.labels.type, s.value]));
      expect(byType).toEqual({
        PaymentRequested: 4,
        PaymentAuthorized: 3,
        PaymentCaptureRequested: 1,
        PaymentCaptured: 2,
        RefundRequested: 1,
        PaymentRefunded: 1,
        PaymentFailed: 1,
        PaymentCancelRequested: 1,
        PaymentCanceled: 1,
      });
      expect(valueOf(samples, 'ledger_projection_events_total', { projection: 'payments' })).toBe(15);
      expect(valueOf(samples, 'ledger_events_appended_total', { category: 'payment' })).toBe(15);
    });

    it('counts Stripe calls by operation and outcome, declines apart', () => {
      expect(valueOf(samples, 'ledger_stripe_calls_total', { operation: 'payment_intents.create', outcome: 'ok' })).toBe(3);
      expect(valueOf(samples, 'ledger_stripe_calls_total', { operation: 'payment_intents.create', outcome: 'declined' })).toBe(1);
      expect(valueOf(samples, 'ledger_stripe_calls_total', { operation: 'payment_intents.capture', outcome: 'ok' })).toBe(1);
      expect(valueOf(samples, 'ledger_stripe_calls_total', { operation: 'payment_intents.cancel', outcome: 'ok' })).toBe(1);
      expect(valueOf(samples, 'ledger_stripe_calls_total', { operation: 'refunds.create', outcome: 'ok' })).toBe(1);
      expect(sumOf(samples, 'ledger_stripe_calls_total', { outcome: 'unknown' })).toBe(0);
      expect(valueOf(samples, 'ledger_stripe_breaker_state')).toBe(0);
    });

    it('counts saga jobs by result, one finished run per authorization, and an empty backlog', () => {
      const finished = (job: string) =>
        ['recorded', 'already_recorded', 'nothing_to_do', 'contradicted'].reduce((sum, result) => sum + (valueOf(samples, 'ledger_saga_jobs_total', { job, result }) ?? 0), 0);
      expect(finished('authorize')).toBe(4);
      expect(finished('capture')).toBe(1);
      expect(finished('cancel')).toBe(1);
      expect(finished('refund')).toBe(1);
      expect(sumOf(samples, 'ledger_saga_jobs_total', { result: 'contradicted' })).toBe(0);
      expect(valueOf(samples, 'ledger_saga_queue_jobs', { state: 'waiting' })).toBe(0);
      expect(valueOf(samples, 'ledger_saga_queue_jobs', { state: 'failed' })).toBe(0);
      expect(valueOf(samples, 'ledger_saga_open_work', { stage: 'pending' })).toBe(0);
      expect(valueOf(samples, 'ledger_stuck_payments')).toBe(0);
    });

    it('reports every projection caught up: no event behind its checkpoint', () => {
      for (const projection of ['payments', 'ledger', 'saga-payments', 'saga-webhooks']) {
        expect(valueOf(samples, 'ledger_projection_lag_events', { projection })).toBe(0);
        expect(valueOf(samples, 'ledger_projection_lag_seconds', { projection })).toBe(0);
      }
    });

    it('counts HTTP requests per route template, the replay and the append conflict', () => {
      expect(valueOf(samples, 'http_requests_total', { method: 'POST', route: '/v1/payments', status_code: '202' })).toBe(5);
      expect(valueOf(samples, 'http_requests_total', { method: 'POST', route: '/v1/payments/:id/capture', status_code: '202' })).toBe(1);
      expect(valueOf(samples, 'http_requests_total', { method: 'POST', route: '/v1/payments/:id/refunds', status_code: '202' })).toBe(1);
      expect(valueOf(samples, 'http_requests_total', { method: 'GET', route: '(unmatched)', status_code: '404' })).toBe(1);
      expect(samples.some((s) => s.name === 'http_requests_total' && /[0-9a-f]{8}-/.test(s.labels.route ?? ''))).toBe(false);
      expect(valueOf(samples, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/payments', status_code: '202' })).toBe(5);
      expect(valueOf(samples, 'ledger_idempotent_replays_total', { route: '/v1/payments' })).toBe(1);
      expect(valueOf(samples, 'ledger_event_append_conflicts_total', { category: 'other', expected: 'no_stream' })).toBe(1);
      expect(valueOf(samples, 'ledger_event_appends_total', { category: 'other', outcome: 'conflict' })).toBe(1);
    });

    it('serves the same registry on the read API, reconciliation discrepancies included', async () => {
      const names = await metricNames(readSide.url!);
      for (const name of ['ledger_reconciliation_discrepancies_total', 'ledger_payments', 'ledger_stripe_calls_total', 'ledger_saga_jobs_total', 'http_requests_total']) {
        expect(names.has(name)).toBe(true);
      }
    });

    it("logs the payment's correlation id at the write API, in its saga job and in the projections", () => {
      const lines = logs.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
      const mine = lines.filter((line) => line.correlation_id === correlationId && line.payment_id === refundedId);
      const http = mine.find((line) => line.message === 'http request');
      expect(http).toMatchObject({ method: 'POST', route: '/v1/payments', status: 202 });
      expect(mine.find((line) => line.job_id === `authorize-${refundedId}`)).toMatchObject({ message: expect.stringMatching(/^saga job authorize: /) });
      const projected = mine.filter((line) => line.message === 'projection applied event');
      expect(projected.filter((line) => line.projection === 'payments').map((line) => line.event_type)).toEqual(
        expect.arrayContaining(['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured']),
      );
      expect(projected.some((line) => line.projection === 'ledger')).toBe(true);
      expect(logs.leaks([saga.key])).toEqual([]);
    });
  });
});
