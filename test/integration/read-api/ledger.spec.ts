import { randomUUID } from 'node:crypto';
import { paymentStreamId } from '../../../commands/ids';
import type { PaymentEvent } from '../../../domain/payment.events';
import { appendFacts, facts } from '../../support/payment-facts';
import { lastPositionOf, startReadSide, waitForProjections, type ReadSideHarness } from '../../support/read-side';

const refunded = (refundId: string, amount: number): PaymentEvent => ({
  type: 'PaymentRefunded',
  data: { refund_id: refundId, amount, processor_refund_id: `re_${refundId}`, balance_transaction_id: 'txn_re', refunded_at: '2026-01-01T00:00:05.000Z' },
});
const canceled = (): PaymentEvent => ({ type: 'PaymentCanceled', data: { reason: 'requested_by_customer', canceled_at: '2026-01-01T00:00:03.000Z' } });

describe('the double-entry ledger', () => {
  let side: ReadSideHarness;
  let merchant: string;
  let key: string;
  let otherKey: string;
  let adminKey: string;

  beforeAll(async () => {
    side = await startReadSide();
    merchant = `m_${randomUUID().slice(0, 8)}`;
    ({ key } = await side.write.newKey(merchant, ['payments:write', 'payments:read']));
    ({ key: otherKey } = await side.write.newKey(`m_${randomUUID().slice(0, 8)}`, ['payments:write', 'payments:read']));
    ({ key: adminKey } = await side.write.newKey(`ops_${randomUUID().slice(0, 8)}`, ['payments:read', 'admin']));
  });
  afterAll(() => side.close());

  const create = async (currency = 'eur', amount = 5000) => {
    const response = await side.write.post(
      '/v1/payments',
      { amount, currency, customer_id: 'cus_1', payment_method: 'pm_card_visa', capture_method: 'manual' },
      { key, idempotencyKey: randomUUID() },
    );
    expect(response.status).toBe(202);
    return response.body.id as string;
  };
  const settle = async (ids: readonly string[]) => {
    const position = await lastPositionOf(side.pool, ids.map(paymentStreamId));
    await waitForProjections(side.pool, position!);
  };
  const payable = () => `merchant_payable:${merchant}`;

  describe('when a payment is authorized, captured in part with a fee, then refunded in part', () => {
    let id: string;

    beforeAll(async () => {
      id = await create('eur', 5000);
      // The authorization and the capture land in one append, so one batch holds both.
      await appendFacts(side.write.store, id, [facts.authorized(5000), facts.captured('cap_1', 3000, 120)]);
      const refund = await side.write.post(`/v1/payments/${id}/refunds`, { amount: 500 }, { key, idempotencyKey: randomUUID() });
      expect(refund.status).toBe(202);
      await appendFacts(side.write.store, id, [refunded(refund.body.id, 500)]);
      await settle([id]);
    });

    it("posts the merchant's payable: captured less fee less refund, nothing left pending", async () => {
      const response = await side.get(`/v1/ledger/accounts/${encodeURIComponent(payable())}`, key);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        object: 'ledger_account',
        id: payable(),
        balances: [{ currency: 'eur', debits_pending: 0, credits_pending: 0, debits_posted: 620, credits_posted: 3000 }],
      });
    });

    it('lists the entries newest first: the hold, its capture and release, the fee and the refund', async () => {
      const response = await side.get(`/v1/ledger/accounts/${payable()}/entries?limit=100`, key);
      expect(response.status).toBe(200);
      const mine = response.body.data.filter((e: { payment_id: string }) => e.payment_id === id);
      expect(mine.map((e: { kind: string; phase: string; amount: number }) => [e.kind, e.phase, e.amount])).toEqual([
        ['refund', 'posted', 500],
        ['fee', 'posted', 120],
        ['release', 'voided', 2000],
        ['capture', 'posted', 3000],
        ['authorization', 'pending', 5000],
      ]);
      const hold = mine[4];
      expect(mine[3].pending_entry_id).toBe(hold.id);
      expect(mine[2].pending_entry_id).toBe(hold.id);
      for (const entry of mine) expect(entry.debit_account).not.toBe(entry.credit_account);
    });

    it('pages entries with a cursor', async () => {
      const first = await side.get(`/v1/ledger/accounts/${payable()}/entries?limit=2`, key);
      expect(first.body.has_more).toBe(true);
      const second = await side.get(`/v1/ledger/accounts/${payable()}/entries?limit=2&starting_after=${first.body.data[1].id}`, key);
      expect(second.body.data[0].id).not.toBe(first.body.data[1].id);
      expect(second.body.data.map((e: { kind: string }) => e.kind)).toEqual(['release', 'capture']);
    });
  });

  describe('when an authorized payment is canceled', () => {
    it('voids the hold', async () => {
      const id = await create('chf', 777);
      await appendFacts(side.write.store, id, [facts.authorized(777), canceled()]);
      await settle([id]);
      const response = await side.get(`/v1/ledger/accounts/${payable()}?currency=chf`, key);
      expect(response.body.balances).toEqual([{ currency: 'chf', debits_pending: 0, credits_pending: 0, debits_posted: 0, credits_posted: 0 }]);
      const entries = await side.get(`/v1/ledger/accounts/${payable()}/entries?currency=chf`, key);
      expect(entries.body.data.map((e: { kind: string; amount: number }) => [e.kind, e.amount])).toEqual([
        ['cancel', 777],
        ['authorization', 777],
      ]);
    });
  });

  describe('in every currency', () => {
    it('the accounts sum to zero, pending and posted', async () => {
      const { rows } = await side.pool.query(
        `select currency, sum(debits_pending - credits_pending)::int as pending, sum(debits_posted - credits_posted)::int as posted
           from ledger_accounts group by currency`,
      );
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row).toMatchObject({ pending: 0, posted: 0 });
    });
  });

  describe('who sees which account', () => {
    it("answers 404 for another merchant's payable account and its entries", async () => {
      expect((await side.get(`/v1/ledger/accounts/${payable()}`, otherKey)).status).toBe(404);
      const entries = await side.get(`/v1/ledger/accounts/${payable()}/entries`, otherKey);
      expect(entries.status).toBe(404);
      expect(entries.body.code).toBe('account_not_found');
    });

    it('answers 403 for stripe_balance without the admin scope, and the balance with it', async () => {
      const denied = await side.get('/v1/ledger/accounts/stripe_balance', key);
      expect(denied.status).toBe(403);
      const allowed = await side.get('/v1/ledger/accounts/stripe_balance?currency=eur', adminKey);
      expect(allowed.status).toBe(200);
      expect(allowed.body.balances[0].debits_posted).toBeGreaterThanOrEqual(3000);
    });

    it('rejects bad parameters with 400 and odd account names with 404', async () => {
      expect((await side.get(`/v1/ledger/accounts/${payable()}/entries?limit=0`, key)).status).toBe(400);
      expect((await side.get(`/v1/ledger/accounts/${payable()}?currency=EURO`, key)).status).toBe(400);
      expect((await side.get(`/v1/ledger/accounts/${payable()}/entries?starting_after=${randomUUID()}`, key)).status).toBe(400);
      expect((await side.get('/v1/ledger/accounts/%00', adminKey)).status).toBe(404);
    });
  });
});
