import type { LedgerMovement, LedgerPaymentView, MatchInput, ProcessorTransaction, SourceOwner } from '../../../processes/reconciliation/match';
import { fingerprintOf, match, movementsNotListed, sourcesToResolve } from '../../../processes/reconciliation/match';
import { foldRun } from '../../../processes/reconciliation/run-events';
import { previousUtcDay } from '../../../infra/reconciliation';

const WINDOW = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' };
const AT = '2026-03-01T12:00:00.000Z';
const CREATED = Date.parse(AT) / 1000;

const capture = (paymentId: string, chargeId: string, amount: number, fee: number, at = AT): LedgerMovement => ({
  kind: 'capture',
  paymentId,
  currency: 'usd',
  processorObjectId: chargeId,
  balanceTransactionId: `txn_${chargeId}`,
  amount,
  fee,
  net: amount - fee,
  at,
});
const refund = (paymentId: string, refundId: string, amount: number): LedgerMovement => ({
  kind: 'refund',
  paymentId,
  currency: 'usd',
  processorObjectId: refundId,
  balanceTransactionId: `txn_${refundId}`,
  amount: -amount,
  fee: 0,
  net: -amount,
  at: AT,
});
const payment = (paymentId: string, status: LedgerPaymentView['status'], movements: LedgerMovement[], intent: string | null = `pi_${paymentId}`): LedgerPaymentView => ({
  paymentId,
  currency: 'usd',
  status,
  processorPaymentId: intent,
  movements,
});
const txn = (id: string, source: string, amount: number, fee: number, category = 'charge', currency = 'usd'): ProcessorTransaction => ({
  id,
  amount,
  fee,
  net: amount - fee,
  currency,
  type: category === 'charge' ? 'charge' : 'refund',
  reportingCategory: category,
  source,
  created: CREATED,
});

function given(payments: LedgerPaymentView[], transactions: ProcessorTransaction[], extra: Partial<MatchInput> = {}) {
  const ledgerBalance = new Map<string, number>();
  for (const m of payments.flatMap((p) => p.movements)) ledgerBalance.set(m.currency, (ledgerBalance.get(m.currency) ?? 0) + m.net);
  return match({ window: WINDOW, payments, transactions, owners: new Map(), elsewhereAtProcessor: new Set(), ledgerBalance, ...extra });
}

describe('matching the ledger with Stripe balance transactions', () => {
  describe('when a manual payment was partially captured', () => {
    const ledger = [payment('p1', 'captured', [capture('p1', 'ch_1', 3000, 117)])];
    const stripe = [txn('txn_ch_1', 'ch_1', 5000, 117), txn('txn_rev_1', 'ch_1', -2000, 0, 'partial_capture_reversal')];

    it('matches the charge and its partial capture reversal as their sum', () => {
      const result = given(ledger, stripe);
      expect(result.discrepancies).toEqual([]);
      expect(result).toMatchObject({ matched: 1, groups: 1 });
      expect(result.totals).toEqual([{ currency: 'usd', ledgerNet: 2883, processorNet: 2883, drift: 0 }]);
    });

    it('reports amount_mismatch when the reversal is one minor unit off', () => {
      const result = given(ledger, [stripe[0]!, txn('txn_rev_1', 'ch_1', -1999, 0, 'partial_capture_reversal')]);
      expect(result.discrepancies).toEqual([
        expect.objectContaining({ kind: 'amount_mismatch', paymentId: 'p1', expected: { amount: 3000 }, actual: { amount: 3001 }, balanceTransactionIds: ['txn_ch_1', 'txn_rev_1'] }),
      ]);
      expect(result.totals[0]).toMatchObject({ drift: -1 });
    });
  });

  it('reports currency and fee mismatches of one matched charge as two discrepancies', () => {
    const result = given([payment('p1', 'captured', [capture('p1', 'ch_1', 2000, 88)])], [txn('txn_ch_1', 'ch_1', 2000, 89, 'charge', 'eur')]);
    expect(result.discrepancies.map((d) => [d.kind, d.expected, d.actual])).toEqual([
      ['fee_mismatch', { fee: 88 }, { fee: 89 }],
      ['currency_mismatch', { currency: 'usd' }, { currency: 'eur' }],
    ]);
  });

  it('matches by balance transaction id when the source differs, and by metadata when neither id matches', () => {
    const byTxn = given([payment('p1', 'captured', [capture('p1', 'ch_1', 2000, 88)])], [txn('txn_ch_1', 'ch_other', 2000, 88)]);
    expect(byTxn.discrepancies).toEqual([]);
    const owners = new Map<string, SourceOwner>([['ch_2', { paymentIntentId: 'pi_p1', paymentId: 'p1' }]]);
    const byMetadata = given([payment('p1', 'captured', [capture('p1', 'ch_1', 2000, 88)])], [txn('txn_2', 'ch_2', 2000, 88)], { owners });
    expect(byMetadata).toMatchObject({ matched: 1, matchedByMetadata: 1, discrepancies: [] });
  });

  describe('when Stripe holds an object the processor ids do not match', () => {
    const owners = (paymentId: string | null, intent: string | null = paymentId && `pi_${paymentId}`) =>
      new Map<string, SourceOwner>([
        ['re_9', { paymentIntentId: intent, paymentId }],
        ['ch_9', { paymentIntentId: intent, paymentId }],
      ]);

    it('plans to heal a refund of a captured payment', () => {
      const result = given([payment('p1', 'captured', [])], [txn('txn_re_9', 're_9', -500, 0, 'refund')], { owners: owners('p1') });
      expect(result.discrepancies).toEqual([
        {
          fingerprint: fingerprintOf('missing_in_ledger', 're_9'),
          kind: 'missing_in_ledger',
          paymentId: 'p1',
          object: 'refund',
          processorObjectId: 're_9',
          balanceTransactionIds: ['txn_re_9'],
          currency: 'usd',
          expected: { status: 'captured' },
          actual: { status: 'refunded', amount: -500, fee: 0, net: -500, currency: 'usd' },
          heal: { action: 'record_refund', processorRefundId: 're_9' },
        },
      ]);
    });

    it('plans to heal a capture of an authorized payment of the same intent, but not of another intent', () => {
      const same = given([payment('p1', 'authorized', [])], [txn('txn_ch_9', 'ch_9', 2000, 88)], { owners: owners('p1') });
      expect(same.discrepancies[0]).toMatchObject({ kind: 'missing_in_ledger', heal: { action: 'record_capture', paymentIntentId: 'pi_p1' } });
      const other = given([payment('p1', 'authorized', [])], [txn('txn_ch_9', 'ch_9', 2000, 88)], { owners: owners('p1', 'pi_second') });
      expect(other.discrepancies[0]).toMatchObject({ kind: 'missing_in_ledger', heal: null });
    });

    it('reports status_mismatch for a charge of a payment the ledger holds as canceled', () => {
      const result = given([payment('p1', 'canceled', [])], [txn('txn_ch_9', 'ch_9', 2000, 88)], { owners: owners('p1') });
      expect(result.discrepancies[0]).toMatchObject({ kind: 'status_mismatch', expected: { status: 'canceled' }, actual: { status: 'captured', amount: 2000 }, heal: null });
    });

    it('reports missing_in_ledger without healing for a charge naming no ledger payment, or none', () => {
      for (const paymentId of ['p_unknown', null]) {
        const result = given([], [txn('txn_ch_9', 'ch_9', 2000, 88)], { owners: owners(paymentId, 'pi_x') });
        expect(result.discrepancies[0]).toMatchObject({ kind: 'missing_in_ledger', paymentId, expected: null, heal: null });
        expect(result.totals[0]).toMatchObject({ ledgerNet: 0, processorNet: 1912, drift: -1912 });
      }
    });
  });

  describe("when a movement of the ledger's is not listed in the window", () => {
    const ledger = [payment('p1', 'captured', [capture('p1', 'ch_1', 2000, 88), refund('p1', 're_1', 300)])];

    it('reports missing_at_processor when Stripe does not have it, with the drift in the other direction', () => {
      const result = given(ledger, [txn('txn_ch_1', 'ch_1', 2000, 88)]);
      expect(result.discrepancies).toEqual([
        expect.objectContaining({ kind: 'missing_at_processor', paymentId: 'p1', processorObjectId: 're_1', expected: { amount: -300, fee: 0, net: -300, currency: 'usd' }, actual: null }),
      ]);
      expect(result.totals[0]).toMatchObject({ drift: -300 });
    });

    it('leaves it to its own window when Stripe has it, created outside this one', () => {
      const result = given(ledger, [txn('txn_ch_1', 'ch_1', 2000, 88)], { elsewhereAtProcessor: new Set(['txn_re_1']) });
      expect(result.discrepancies).toEqual([]);
    });

    it('names only those movements for the runner to look up', () => {
      expect(movementsNotListed(WINDOW, ledger, [txn('txn_ch_1', 'ch_1', 2000, 88)]).map((m) => m.processorObjectId)).toEqual(['re_1']);
      expect(sourcesToResolve(ledger, [txn('txn_ch_1', 'ch_1', 2000, 88), txn('txn_x', 'ch_x', 10, 0)]).map((g) => g.sourceId)).toEqual(['ch_x']);
    });

    it('ignores movements dated outside the window', () => {
      const old = [payment('p1', 'captured', [capture('p1', 'ch_1', 2000, 88, '2026-02-28T23:59:59.000Z')])];
      expect(given(old, []).discrepancies).toEqual([]);
    });
  });

  it('ignores balance transactions that are not payments (payouts, adjustments)', () => {
    const result = given([], [txn('txn_po', 'po_1', -5000, 0, 'payout')]);
    expect(result).toMatchObject({ discrepancies: [], ignoredTransactions: 1, groups: 0 });
  });

  it('reports the same discrepancies in the same order whatever order Stripe lists them in', () => {
    const owners = new Map<string, SourceOwner>([
      ['ch_a', { paymentIntentId: 'pi_a', paymentId: null }],
      ['ch_b', { paymentIntentId: 'pi_b', paymentId: null }],
    ]);
    const ledger = [payment('p1', 'captured', [capture('p1', 'ch_1', 2000, 88)])];
    const listed = [txn('t1', 'ch_1', 2001, 88), txn('t2', 'ch_a', 100, 33), txn('t3', 'ch_b', 100, 33)];
    expect(given(ledger, [...listed].reverse(), { owners })).toEqual(given(ledger, listed, { owners }));
  });
});

describe('the run stream, folded', () => {
  const found = (id: string) => ({
    type: 'DiscrepancyFound',
    data: { discrepancy_id: id, fingerprint: `f${id}`, kind: 'fee_mismatch', payment_id: 'p1', processor_object: 'charge', processor_object_id: 'ch_1', balance_transaction_ids: [], currency: 'usd', expected: { fee: 1 }, actual: { fee: 2 }, healable: false },
  });
  it('counts a discrepancy healed or resolved as no longer unresolved', () => {
    const events = [
      { type: 'ReconciliationRequested', data: { run_id: 'r', ...WINDOW, trigger: 'cli', requested_at: AT } },
      { type: 'ReconciliationStarted', data: { run_id: 'r', ...WINDOW, started_at: AT } },
      found('d1'),
      found('d2'),
      found('d3'),
      { type: 'DiscrepancyHealed', data: { discrepancy_id: 'd1', facts: ['PaymentRefunded'], healed_at: AT } },
      { type: 'ReconciliationCompleted', data: { run_id: 'r', completed_at: AT, payments: 1, events: 2, balance_transactions: 3, matched: 1, counts: {}, discrepancies: 3, healed: 1, unresolved: 2, totals: [] } },
      { type: 'DiscrepancyResolved', data: { discrepancy_id: 'd2', resolution: 'accepted', note: 'ok', resolved_by: 'k', resolved_at: AT } },
    ].map((e, revision) => ({ ...e, revision }));
    const run = foldRun(events)!;
    expect(run).toMatchObject({ status: 'completed', healed: 1, unresolved: 1, revision: 7 });
    expect(run.discrepancies.map((d) => d.status)).toEqual(['healed', 'resolved', 'open']);
  });
});

describe('the daily window', () => {
  it('is the whole previous UTC day', () => {
    expect(previousUtcDay(new Date('2026-03-02T00:15:00Z'))).toEqual({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' });
    expect(previousUtcDay(new Date('2026-01-01T23:59:59Z'))).toEqual({ from: '2025-12-31T00:00:00.000Z', to: '2026-01-01T00:00:00.000Z' });
  });
});
