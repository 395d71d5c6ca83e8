import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { countDiscrepancies, createMetrics, routeTemplate, streamCategory, UNMATCHED_ROUTE } from '../../../infra/metrics';
import { sagaHooks } from '../../../infra/telemetry';

async function value(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('metrics', () => {
  it('labels streams by a bounded category, never by the stream id', () => {
    expect(streamCategory(`payment-${randomUUID()}`)).toBe('payment');
    expect(streamCategory('stripe-event-evt_123')).toBe('stripe_event');
    expect(streamCategory(`reconciliation-${randomUUID()}`)).toBe('reconciliation');
    expect(streamCategory('anything-else')).toBe('other');
  });

  it('labels a request by the route template it matched, or as unmatched', () => {
    expect(routeTemplate({ baseUrl: '', route: { path: '/v1/payments/:id' } } as unknown as Request)).toBe('/v1/payments/:id');
    expect(routeTemplate({ baseUrl: '/docs', route: undefined } as unknown as Request)).toBe(UNMATCHED_ROUTE);
  });

  it("sets stuck payments from the janitor's report and counts its redispatches", async () => {
    const metrics = createMetrics();
    const hooks = sagaHooks(metrics, () => undefined);
    hooks.onJanitor({ stuck: 3, redispatched: 2 });
    hooks.onJanitor({ stuck: 1, redispatched: 1 });
    expect(await value(metrics, 'ledger_stuck_payments')).toBe(1);
    expect(await value(metrics, 'ledger_janitor_redispatched_total')).toBe(3);
  });

  it('counts reconciliation discrepancies by kind', async () => {
    const metrics = createMetrics();
    countDiscrepancies(metrics, [{ kind: 'amount_mismatch' }, { kind: 'amount_mismatch' }, { kind: 'missing_in_ledger' }]);
    expect(await value(metrics, 'ledger_reconciliation_discrepancies_total', { kind: 'amount_mismatch' })).toBe(2);
    expect(await value(metrics, 'ledger_reconciliation_discrepancies_total', { kind: 'missing_in_ledger' })).toBe(1);
  });

  it('drops a sampled gauge whose source fails or hangs, and counts the failure, instead of serving a stale value', async () => {
    const metrics = createMetrics({ sampleTimeoutMs: 50 });
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    metrics.sample('paymentsByStatus', async () => {
      if (mode === 'fail') throw new Error('database down');
      if (mode === 'hang') await new Promise((resolve) => setTimeout(resolve, 1000));
      metrics.paymentsByStatus.set({ status: 'captured' }, 7);
    });
    expect(await value(metrics, 'ledger_payments', { status: 'captured' })).toBe(7);
    mode = 'fail';
    expect(await value(metrics, 'ledger_payments', { status: 'captured' })).toBeUndefined();
    mode = 'hang';
    expect(await value(metrics, 'ledger_payments', { status: 'captured' })).toBeUndefined();
    mode = 'ok';
    expect(await value(metrics, 'ledger_metric_collection_errors_total', { metric: 'ledger_payments' })).toBe(2);
  });

  it('keeps two registries apart', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.stripeCalls.inc({ operation: 'refunds.create', outcome: 'ok' });
    expect(await value(a, 'ledger_stripe_calls_total', { operation: 'refunds.create' })).toBe(1);
    expect(await value(b, 'ledger_stripe_calls_total', { operation: 'refunds.create' })).toBeUndefined();
  });
});
