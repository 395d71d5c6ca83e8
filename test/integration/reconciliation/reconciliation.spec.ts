import { randomUUID } from 'node:crypto';
import { paymentStreamId } from '../../../commands/ids';
import type { Payment } from '../../../domain/payment.state';
import { recordFacts } from '../../../processes/record-facts';
import type { StripeGateway } from '../../../processes/stripe-gateway';
import type { ReconciliationWindow, RunView } from '../../../processes/reconciliation';
import { createdSlices, listBalanceTransactions, replayLedger, toUnixSeconds } from '../../../processes/reconciliation';
import type { LedgerReplay } from '../../../processes/reconciliation';
import { startSaga, terminal, type SagaHarness } from '../../support/saga';
import { balanceTransactionsOf, editSandboxObject, inOwnWindow, reconcile, reconciliationGateway, reportOf, untilNextSecond, untilReadable } from './support';

const TEST_FACT = { correlation_id: 'test', causation_id: 'test', actor: 'test', source: 'test' };

describe('reconciliation against the stripe-sandbox', () => {
  let saga: SagaHarness;
  let gateway: StripeGateway;
  beforeAll(async () => {
    saga = await startSaga({ backend: 'postgres' });
    gateway = reconciliationGateway(saga);
  });
  afterAll(async () => {
    gateway.shutdown();
    await saga.close();
  });

  const captured = async (overrides: Record<string, unknown> = {}) => {
    const id = await saga.createPayment({ amount: 2000, ...overrides });
    return (await saga.waitFor(id, (state) => state.status === 'captured')) as Payment;
  };
  const only = (run: RunView) => {
    expect(run.discrepancies).toHaveLength(1);
    return run.discrepancies[0]!;
  };
  const paymentEvents = async (id: string) => saga.store.read(paymentStreamId(id));

  describe('after clean runs of the saga flows', () => {
    let window: ReconciliationWindow;
    beforeAll(async () => {
      window = await inOwnWindow(async () => {
        const automatic = saga.createPayment({ amount: 2000 });
        const partial = (async () => {
          const id = await saga.createPayment({ amount: 5000, capture_method: 'manual' });
          await saga.waitFor(id, (s) => s.status === 'authorized');
          await saga.post(`/v1/payments/${id}/capture`, { amount: 3000 });
          return id;
        })();
        const canceled = (async () => {
          const id = await saga.createPayment({ amount: 1500, capture_method: 'manual' });
          await saga.waitFor(id, (s) => s.status === 'authorized');
          await saga.post(`/v1/payments/${id}/cancel`, {});
          return id;
        })();
        const refunded = (async () => {
          const id = await saga.createPayment({ amount: 4000 });
          await saga.waitFor(id, (s) => s.status === 'captured');
          await saga.post(`/v1/payments/${id}/refunds`, { amount: 1000 });
          await saga.waitFor(id, (s) => s.status === 'partially_refunded');
          await saga.post(`/v1/payments/${id}/refunds`, { amount: 3000 });
          return id;
        })();
        const declined = saga.createPayment({ amount: 2500, payment_method: 'pm_card_chargeDeclined' });
        const ids = await Promise.all([automatic, partial, canceled, refunded, declined]);
        await Promise.all(ids.map((id) => saga.waitFor(id, terminal)));
      });
    });

    it('finds zero discrepancies and zero drift, with every balance transaction matched', async () => {
      const run = await reconcile(saga, gateway, window);
      expect(run.status).toBe('completed');
      expect(run.discrepancies).toEqual([]);
      expect(run.unresolved).toBe(0);
      // automatic 2000, partial 3000 of 5000 (two transactions, one group), refunded 4000 with two refunds.
      expect(run.summary).toMatchObject({ balance_transactions: 6, matched: 5 });
      const expectedNet = 2000 - 88 + (3000 - 117) + (4000 - 146) - 4000;
      expect(run.summary!.totals).toEqual([{ currency: 'usd', ledger_net: expectedNet, processor_net: expectedNet, drift: 0 }]);
    });

    it('replays the same ledger page by page as in one page', async () => {
      await untilReadable(saga.pool);
      const pages: number[] = [];
      const paged = await replayLedger(saga.store, window, { batch: 3, onBatch: (events) => pages.push(events) });
      const whole = await replayLedger(saga.store, window);
      const byId = (replay: LedgerReplay) => [...replay.payments].sort((a, b) => (a.paymentId < b.paymentId ? -1 : 1));
      expect(pages.length).toBeGreaterThan(3);
      expect(pages[pages.length - 1]).toBe(whole.events);
      expect(byId(paged)).toEqual(byId(whole));
      expect(paged.stripeBalance).toEqual(whole.stripeBalance);
    });

    it('gives the same report for the same window twice', async () => {
      const first = await reconcile(saga, gateway, window);
      const second = await reconcile(saga, gateway, window);
      expect(second.id).not.toBe(first.id);
      expect(reportOf(second)).toEqual(reportOf(first));
    });
  });

  describe('when the window is listed in slices', () => {
    it('cuts the window into contiguous slices of whole seconds, no more than it has seconds', () => {
      const window = { from: '2026-01-15T00:00:00.000Z', to: '2026-01-15T00:00:10.000Z' };
      expect(createdSlices(window, 4)).toEqual([
        { gte: 1768435200, lt: 1768435202 },
        { gte: 1768435202, lt: 1768435205 },
        { gte: 1768435205, lt: 1768435207 },
        { gte: 1768435207, lt: 1768435210 },
      ]);
      expect(createdSlices(window, 64)).toHaveLength(10);
    });

    it('lists every balance transaction of the window once, whatever the slices', async () => {
      const window = await inOwnWindow(async () => {
        for (const amount of [1000, 1100, 1200]) {
          await captured({ amount });
          await untilNextSecond();
        }
      });
      const { rows } = await saga.pool.query<{ id: string; created: string }>(
        "select id, created from stripe_sandbox.objects where object = 'balance_transaction' and created >= $1 and created < $2",
        [toUnixSeconds(window.from), toUnixSeconds(window.to)],
      );
      // Transactions in three seconds at least, so that slices of one second each meet at boundaries.
      expect(new Set(rows.map((r) => r.created)).size).toBeGreaterThanOrEqual(3);
      const expected = rows.map((r) => r.id).sort();
      for (const slices of [1, 2, 1000]) {
        const listed = await listBalanceTransactions(gateway, window, undefined, slices);
        expect(listed.map((t) => t.id).sort()).toEqual(expected);
      }
    });
  });

  describe('when Stripe holds another amount than the ledger', () => {
    it('reports amount_mismatch with the payment, the expected and the actual amounts, and the drift', async () => {
      let payment!: Payment;
      const window = await inOwnWindow(async () => {
        payment = await captured();
      });
      const [txn] = await balanceTransactionsOf(saga.pool, payment.processorChargeId!);
      await editSandboxObject(saga.pool, txn!.id, { amount: 2100, net: 2100 - 88 });

      const run = await reconcile(saga, gateway, window);
      expect(only(run)).toMatchObject({
        kind: 'amount_mismatch',
        payment_id: payment.paymentId,
        processor_object_id: payment.processorChargeId,
        expected: { amount: 2000 },
        actual: { amount: 2100 },
        status: 'open',
        healable: false,
      });
      expect(run.summary!.totals).toEqual([{ currency: 'usd', ledger_net: 1912, processor_net: 2012, drift: -100 }]);
      expect(run.unresolved).toBe(1);

      const again = await reconcile(saga, gateway, window);
      expect(reportOf(again)).toEqual(reportOf(run));
    });
  });

  describe('when Stripe charged another fee', () => {
    it('reports fee_mismatch', async () => {
      let payment!: Payment;
      const window = await inOwnWindow(async () => {
        payment = await captured();
      });
      const [txn] = await balanceTransactionsOf(saga.pool, payment.processorChargeId!);
      await editSandboxObject(saga.pool, txn!.id, { fee: 95, net: 2000 - 95 });
      const run = await reconcile(saga, gateway, window);
      expect(only(run)).toMatchObject({ kind: 'fee_mismatch', payment_id: payment.paymentId, expected: { fee: 88 }, actual: { fee: 95 } });
      expect(run.summary!.totals[0]!.drift).toBe(7);
    });
  });

  describe('when Stripe settled in another currency', () => {
    it('reports currency_mismatch', async () => {
      let payment!: Payment;
      const window = await inOwnWindow(async () => {
        payment = await captured();
      });
      const [txn] = await balanceTransactionsOf(saga.pool, payment.processorChargeId!);
      await editSandboxObject(saga.pool, txn!.id, { currency: 'eur' });
      const run = await reconcile(saga, gateway, window);
      expect(only(run)).toMatchObject({ kind: 'currency_mismatch', payment_id: payment.paymentId, expected: { currency: 'usd' }, actual: { currency: 'eur' } });
      expect(run.summary!.totals).toEqual([
        { currency: 'eur', ledger_net: 0, processor_net: 1912, drift: -1912 },
        { currency: 'usd', ledger_net: 1912, processor_net: 0, drift: 1912 },
      ]);
    });
  });

  describe('when the ledger holds a refund Stripe never made', () => {
    it('reports missing_at_processor with what the ledger expected', async () => {
      let payment!: Payment;
      const window = await inOwnWindow(async () => {
        payment = await captured();
        const recorded = await recordFacts(
          saga.store,
          payment.paymentId,
          [{ type: 'RecordRefund', refundId: randomUUID(), amount: 300, processorRefundId: 're_onlyintheledger', balanceTransactionId: 'txn_onlyintheledger', refundedAt: new Date().toISOString() }],
          TEST_FACT,
        );
        expect(recorded.appended).toHaveLength(1);
      });
      const run = await reconcile(saga, gateway, window);
      expect(only(run)).toMatchObject({
        kind: 'missing_at_processor',
        payment_id: payment.paymentId,
        processor_object_id: 're_onlyintheledger',
        expected: { amount: -300, fee: 0, net: -300, currency: 'usd' },
        actual: null,
      });
      expect(run.summary!.totals[0]).toMatchObject({ ledger_net: 1912 - 300, processor_net: 1912, drift: -300 });
    });
  });

  describe('when Stripe holds a charge the ledger never requested', () => {
    it('reports missing_in_ledger for an intent naming no ledger payment, and one with no payment_id at all', async () => {
      const stranger = randomUUID();
      const intents: string[] = [];
      const window = await inOwnWindow(async () => {
        for (const metadata of [{ payment_id: stranger }, {}] as Record<string, string>[]) {
          const intent = await gateway.stripe.paymentIntents.create({
            amount: 1000,
            currency: 'usd',
            payment_method: 'pm_card_visa',
            confirm: true,
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
            metadata,
          });
          intents.push(intent.latest_charge as string);
        }
      });
      const run = await reconcile(saga, gateway, window);
      expect(run.discrepancies).toHaveLength(2);
      const byCharge = new Map(run.discrepancies.map((d) => [d.processor_object_id, d]));
      expect(byCharge.get(intents[0]!)).toMatchObject({ kind: 'missing_in_ledger', payment_id: stranger, expected: null, actual: { amount: 1000, fee: 59, net: 941 }, healable: false });
      expect(byCharge.get(intents[1]!)).toMatchObject({ kind: 'missing_in_ledger', payment_id: null, healable: false, status: 'open' });
      expect(run.unresolved).toBe(2);
    });
  });

  describe('when the ledger lost a fact Stripe holds', () => {
    it('heals a refund made only at Stripe, once, and the next run is clean', async () => {
      let payment!: Payment;
      let refundId = '';
      const window = await inOwnWindow(async () => {
        payment = await captured({ amount: 5000 });
        // With the processes stopped, the webhook is stored but nobody turns it into a fact.
        await saga.processes.stop();
        refundId = (await gateway.stripe.refunds.create({ payment_intent: payment.processorPaymentId!, amount: 1250 })).id;
      });
      try {
        const run = await reconcile(saga, gateway, window);
        expect(only(run)).toMatchObject({
          kind: 'missing_in_ledger',
          payment_id: payment.paymentId,
          processor_object_id: refundId,
          expected: { status: 'captured' },
          actual: { amount: -1250, net: -1250 },
          healable: true,
          status: 'healed',
          healed_facts: ['PaymentRefunded'],
        });
        expect(run.unresolved).toBe(0);
        const refunds = (await paymentEvents(payment.paymentId)).filter((e) => e.type === 'PaymentRefunded');
        expect(refunds).toHaveLength(1);
        expect(refunds[0]!.data).toMatchObject({ amount: 1250, processor_refund_id: refundId });
        expect(refunds[0]!.metadata).toMatchObject({ source: 'reconciliation', correlation_id: run.id });

        const [second, third] = await Promise.all([reconcile(saga, gateway, window), reconcile(saga, gateway, window)]);
        expect(second.discrepancies).toEqual([]);
        expect(third.discrepancies).toEqual([]);
        expect(second.summary!.totals[0]!.drift).toBe(0);
        expect((await paymentEvents(payment.paymentId)).filter((e) => e.type === 'PaymentRefunded')).toHaveLength(1);
      } finally {
        await saga.startProcesses();
      }
    });

    it('heals a capture deleted from the stream, and the next run is clean', async () => {
      let payment!: Payment;
      const window = await inOwnWindow(async () => {
        payment = await captured({ amount: 3300 });
      });
      const streamId = paymentStreamId(payment.paymentId);
      const before = await paymentEvents(payment.paymentId);
      const last = before[before.length - 1]!;
      expect(last.type).toBe('PaymentCaptured');
      await saga.pool.query('delete from events where stream_id = $1 and revision = $2', [streamId, last.revision]);
      await saga.pool.query('update streams set revision = $2 where stream_id = $1', [streamId, last.revision - 1]);

      const run = await reconcile(saga, gateway, window);
      expect(only(run)).toMatchObject({
        kind: 'missing_in_ledger',
        payment_id: payment.paymentId,
        processor_object_id: payment.processorChargeId,
        expected: { status: 'authorized' },
        actual: { amount: 3300, status: 'captured' },
        status: 'healed',
        healed_facts: ['PaymentCaptured'],
      });
      const after = await paymentEvents(payment.paymentId);
      expect(after.map((e) => e.type)).toEqual(before.map((e) => e.type));
      expect(after[after.length - 1]!.data).toEqual(last.data);
      expect(after[after.length - 1]!.metadata.source).toBe('reconciliation');
      expect((await reconcile(saga, gateway, window)).discrepancies).toEqual([]);
    });
  });

  describe('when the ledger canceled a payment that Stripe captured', () => {
    it('reports status_mismatch and heals nothing', async () => {
      let paymentId = '';
      let intentId = '';
      const window = await inOwnWindow(async () => {
        paymentId = await saga.createPayment({ amount: 2200, capture_method: 'manual' });
        intentId = ((await saga.waitFor(paymentId, (s) => s.status === 'authorized')) as Payment).processorPaymentId!;
        await saga.processes.stop();
        await gateway.stripe.paymentIntents.capture(intentId);
        await recordFacts(saga.store, paymentId, [{ type: 'RecordCancellation', reason: 'requested_by_customer', canceledAt: new Date().toISOString() }], TEST_FACT);
      });
      try {
        const before = (await paymentEvents(paymentId)).length;
        const run = await reconcile(saga, gateway, window);
        expect(only(run)).toMatchObject({
          kind: 'status_mismatch',
          payment_id: paymentId,
          expected: { status: 'canceled' },
          actual: { status: 'captured', amount: 2200 },
          healable: false,
          status: 'open',
        });
        expect((await paymentEvents(paymentId)).length).toBe(before);
      } finally {
        await saga.startProcesses();
      }
    });
  });
});
