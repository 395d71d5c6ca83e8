import fc from 'fast-check';
import IORedis from 'ioredis';
import type { Payment, PaymentState } from '../../../domain/payment.state';
import { loadPayment } from '../../../commands/payment-stream';
import { processorCounts, sagaBackends, startSaga, terminal, type SagaHarness } from '../../support/saga';

/** One payment's planned life: what the client asks for after the create. */
interface Plan {
  readonly amount: number;
  readonly method: 'pm_card_visa' | 'pm_card_mastercard' | 'pm_card_chargeDeclined';
  readonly capture: 'automatic' | 'manual';
  readonly captureAmount: number | null;
  readonly refunds: readonly number[];
}

const plans = (count: number, seed: number): Plan[] =>
  fc.sample(
    fc
      .record({
        amount: fc.integer({ min: 100, max: 50_000 }),
        method: fc.constantFrom('pm_card_visa', 'pm_card_visa', 'pm_card_mastercard', 'pm_card_chargeDeclined'),
        capture: fc.constantFrom('automatic', 'manual'),
        capturePart: fc.integer({ min: 1, max: 100 }),
        refundParts: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 2 }),
      })
      .map(({ amount, method, capture, capturePart, refundParts }) => {
        const captured = capture === 'manual' ? Math.max(1, Math.floor((amount * capturePart) / 100)) : amount;
        const refunds = refundParts.map((part) => Math.max(1, Math.floor((captured * part) / 100)));
        return { amount, method, capture, captureAmount: capture === 'manual' ? captured : null, refunds } as Plan;
      }),
    { numRuns: count, seed },
  );

async function drive(saga: SagaHarness, plan: Plan): Promise<{ id: string; refundRequests: number; captureRequests: number }> {
  const id = await saga.createPayment({ amount: plan.amount, payment_method: plan.method, capture_method: plan.capture });
  let captureRequests = 0;
  let refundRequests = 0;
  if (plan.method === 'pm_card_chargeDeclined') return { id, captureRequests, refundRequests };
  if (plan.capture === 'manual') {
    await saga.waitFor(id, (state) => state.status === 'authorized', 60_000);
    expect((await saga.post(`/v1/payments/${id}/capture`, { amount: plan.captureAmount })).status).toBe(202);
    captureRequests += 1;
  }
  await saga.waitFor(id, (state) => state.status === 'captured', 60_000);
  for (const amount of plan.refunds) {
    expect((await saga.post(`/v1/payments/${id}/refunds`, { amount })).status).toBe(202);
    refundRequests += 1;
  }
  return { id, captureRequests, refundRequests };
}

/** Terminal, or captured with every refund asked for answered by Stripe. */
const settled = (state: PaymentState): boolean =>
  state.status !== 'initial' &&
  state.refunds.every((refund) => refund.status !== 'pending') &&
  (terminal(state) || state.status === 'partially_refunded');

async function runLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

describe.each(sagaBackends())('the saga under Stripe faults, on the %s backend', (backend) => {
  describe('with 10% 5xx, 5% lost responses, 5% 429 and webhooks duplicated and reordered', () => {
    let saga: SagaHarness;
    beforeAll(async () => {
      saga = await startSaga({
        backend,
        faults: { seed: 20261126, error5xxRate: 0.1, lostResponseRate: 0.05, rateLimitRate: 0.05, webhookDuplicateRate: 0.3, webhookReorder: true },
        // These faults are transient: the breaker must not open for them in this test.
        processes: { breaker: { errorThresholdPercentage: 90, resetTimeoutMs: 500, rollingCountTimeoutMs: 5_000, volumeThreshold: 50 } },
      });
    });
    afterAll(() => saga.close());

    it('brings 500 payments to their end, with one PaymentIntent each, one capture per capture and one refund per refund', async () => {
      const driven = await runLimited(plans(500, 7), 24, (plan) => drive(saga, plan));
      const states = await runLimited(driven, 24, ({ id }) => saga.waitFor(id, settled, 120_000));
      const stats = await saga.admin<{ faults: Record<string, number> }>('/__sandbox/stats');
      expect(stats.faults.error5xx).toBeGreaterThan(0);
      expect(stats.faults.lostResponse).toBeGreaterThan(0);
      expect(stats.faults.rateLimit).toBeGreaterThan(0);

      const counts = await processorCounts(saga.pool);
      driven.forEach(({ id, captureRequests, refundRequests }, index) => {
        const state = states[index] as Payment;
        const atStripe = counts.get(id);
        expect({ id, intents: atStripe?.intents }).toEqual({ id, intents: 1 });
        if (state.status === 'failed') {
          expect(atStripe?.captures).toBe(0);
          return;
        }
        expect({ id, captures: atStripe?.captures }).toEqual({ id, captures: 1 });
        expect({ id, captureRequests }).toEqual({ id, captureRequests: state.captureMethod === 'manual' ? 1 : 0 });
        expect({ id, refunds: atStripe?.refunds }).toEqual({ id, refunds: refundRequests });
        expect({ id, refunds: state.refunds.map((refund) => refund.status) }).toEqual({ id, refunds: Array(refundRequests).fill('succeeded') });
      });
    }, 300_000);
  });

  describe('when the sandbox answers 5xx to everything for a while', () => {
    let saga: SagaHarness;
    beforeAll(async () => {
      saga = await startSaga({
        backend,
        processes: { breaker: { errorThresholdPercentage: 50, resetTimeoutMs: 1_000, rollingCountTimeoutMs: 5_000, volumeThreshold: 5 }, breakerPauseMs: 200 },
      });
    });
    afterAll(() => saga.close());

    it('opens the breaker, stops calling, fails no payment, and completes every payment once the sandbox recovers', async () => {
      await saga.admin('/__sandbox/faults', { method: 'POST', body: { faults: { seed: 1, error5xxRate: 1 } } });
      const ids = await Promise.all(Array.from({ length: 20 }, () => saga.createPayment({ amount: 1200 })));

      const deadline = Date.now() + 20_000;
      while (saga.processes.gateway.state() !== 2) {
        if (Date.now() > deadline) throw new Error('the breaker did not open');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Calls already in flight when it opened still land; count from a moment later.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const callsWhenOpened = (await saga.admin<{ faults: Record<string, number> }>('/__sandbox/stats')).faults.error5xx!;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const callsAfterWaiting = (await saga.admin<{ faults: Record<string, number> }>('/__sandbox/stats')).faults.error5xx!;
      // While open, only the breaker's trial calls (one per reset timeout) may reach the sandbox.
      expect(callsAfterWaiting - callsWhenOpened).toBeLessThanOrEqual(4);
      for (const id of ids) expect((await loadPayment(saga.store, id)).state.status).toBe('requested');

      await saga.admin('/__sandbox/faults', { method: 'POST', body: { faults: null } });
      for (const id of ids) await saga.waitFor(id, (state) => state.status === 'captured', 30_000);
      const counts = await processorCounts(saga.pool);
      for (const id of ids) expect(counts.get(id)).toEqual({ intents: 1, captures: 1, refunds: 0 });
    }, 120_000);
  });

  describe('when the queue is lost with work in it', () => {
    let saga: SagaHarness;
    beforeAll(async () => {
      saga = await startSaga({ backend, processes: { stuckAfterMs: 1_000, janitorEveryMs: 300 } });
    });
    afterAll(() => saga.close());

    it('re-derives the pending work from the streams and completes every payment', async () => {
      await saga.admin('/__sandbox/faults', { method: 'POST', body: { faults: { seed: 2, error5xxRate: 1 } } });
      const ids = await Promise.all(Array.from({ length: 30 }, () => saga.createPayment({ amount: 900, capture_method: 'manual' })));
      const waitDispatched = Date.now() + 20_000;
      for (;;) {
        const { rows } = await saga.pool.query('select count(*)::int as n from saga_work where dispatched_at is not null');
        if (rows[0].n >= ids.length) break;
        if (Date.now() > waitDispatched) throw new Error('work was not dispatched');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await saga.processes.stop();
      await destroyQueue(saga, backend);

      await saga.admin('/__sandbox/faults', { method: 'POST', body: { faults: null } });
      await saga.startProcesses({ stuckAfterMs: 1_000, janitorEveryMs: 300 });
      for (const id of ids) await saga.waitFor(id, (state) => state.status === 'authorized', 30_000);
      const counts = await processorCounts(saga.pool);
      for (const id of ids) expect(counts.get(id)?.intents).toBe(1);
    }, 120_000);
  });
});

/** Loses the queue the way an operator could: the BullMQ schema dropped, or the queue's Redis keys deleted. */
async function destroyQueue(saga: SagaHarness, backend: 'postgres' | 'redis'): Promise<void> {
  if (backend === 'postgres') {
    await saga.pool.query('drop schema bullmq cascade');
    return;
  }
  const redis = new IORedis(process.env.TEST_REDIS_URL!);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `bull:${saga.queueName}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
