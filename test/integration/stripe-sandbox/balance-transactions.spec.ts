import Stripe from 'stripe';
import type { Pool } from 'pg';
import { authorizeParams, isolatedClock, migratedPool, startSandbox, type RunningSandbox } from './sandbox-fixture';

let pool: Pool;
let s: RunningSandbox;
let second: number;
const created = () => ({ gte: second, lte: second });

/** Five captures and two refunds, all in one isolated second: 5 charge transactions, 2 refund transactions. */
beforeAll(async () => {
  pool = await migratedPool();
  const frozen = isolatedClock();
  second = frozen.second;
  s = await startSandbox(pool, { clock: frozen.clock });
  for (const amount of [400, 500, 600, 700, 2000]) {
    await s.stripe.paymentIntents.create(authorizeParams(amount, 'pm_card_visa', 'automatic'));
  }
  const [latest] = (await s.stripe.paymentIntents.list({ limit: 2, created: created() })).data;
  await s.stripe.refunds.create({ payment_intent: latest!.id, amount: 100 });
  await s.stripe.refunds.create({ payment_intent: latest!.id, amount: 50 });
});
afterAll(async () => {
  await s.close();
  await pool.end();
});

describe('balance transactions', () => {
  it('lists newest first with a Stripe list envelope', async () => {
    const page = await s.stripe.balanceTransactions.list({ created: created() });
    expect(page).toMatchObject({ object: 'list', has_more: false, url: '/v1/balance_transactions' });
    expect(page.data.map((t) => t.amount)).toEqual([-50, -100, 2000, 700, 600, 500, 400]);
  });

  it('filters on type, source and currency', async () => {
    const refunds = await s.stripe.balanceTransactions.list({ created: created(), type: 'refund' });
    expect(refunds.data.map((t) => t.reporting_category)).toEqual(['refund', 'refund']);
    const charges = await s.stripe.balanceTransactions.list({ created: created(), type: 'charge' });
    expect(charges.data).toHaveLength(5);
    const one = charges.data[2]!;
    const bySource = await s.stripe.balanceTransactions.list({ source: one.source as string });
    expect(bySource.data.map((t) => t.id)).toEqual([one.id]);
    const eur = await s.stripe.balanceTransactions.list({ created: created(), currency: 'eur' });
    expect(eur.data).toEqual([]);
  });

  it('filters on created bounds', async () => {
    const before = await s.stripe.balanceTransactions.list({ created: { lt: second, gte: second - 1 } });
    const after = await s.stripe.balanceTransactions.list({ created: { gt: second, lte: second + 1 } });
    const exact = await s.stripe.balanceTransactions.list({ created: second });
    expect(before.data.filter((t) => t.created === second)).toEqual([]);
    expect(after.data.filter((t) => t.created === second)).toEqual([]);
    expect(exact.data).toHaveLength(7);
  });

  it('pages with limit, starting_after and ending_before', async () => {
    const first = await s.stripe.balanceTransactions.list({ created: created(), limit: 3 });
    expect(first.has_more).toBe(true);
    const second_ = await s.stripe.balanceTransactions.list({ created: created(), limit: 3, starting_after: first.data[2]!.id });
    expect(second_.data.map((t) => t.amount)).toEqual([700, 600, 500]);
    const back = await s.stripe.balanceTransactions.list({ created: created(), limit: 2, ending_before: second_.data[0]!.id });
    expect(back.data.map((t) => t.amount)).toEqual([-100, 2000]);
    expect(back.has_more).toBe(true);
  });

  it('auto-paginates across pages', async () => {
    const all = await s.stripe.balanceTransactions.list({ created: created(), limit: 2 }).autoPagingToArray({ limit: 100 });
    expect(all.map((t) => t.amount)).toEqual([-50, -100, 2000, 700, 600, 500, 400]);
    const collected: Stripe.BalanceTransaction[] = [];
    for await (const txn of s.stripe.balanceTransactions.list({ created: created(), type: 'charge', limit: 1 })) collected.push(txn);
    expect(collected).toHaveLength(5);
  });

  it('refuses a limit outside 1..100 and an unknown cursor', async () => {
    await expect(s.stripe.balanceTransactions.list({ limit: 101 })).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'limit' });
    await expect(s.stripe.balanceTransactions.list({ limit: 0 })).rejects.toMatchObject({ param: 'limit' });
    await expect(s.stripe.balanceTransactions.list({ starting_after: 'txn_nope' })).rejects.toMatchObject({ code: 'resource_missing' });
  });

  it('retrieves one, and expands its source', async () => {
    const [txn] = (await s.stripe.balanceTransactions.list({ created: created(), type: 'charge', limit: 1 })).data;
    const fetched = await s.stripe.balanceTransactions.retrieve(txn!.id, { expand: ['source'] });
    expect((fetched.source as Stripe.Charge).object).toBe('charge');
    await expect(s.stripe.balanceTransactions.retrieve('txn_missing')).rejects.toMatchObject({ statusCode: 404 });
  });
});
