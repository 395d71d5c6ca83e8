import { randomUUID } from 'node:crypto';
import type { Scope } from '../../../ports/api-keys';
import { appendFacts, facts } from '../../support/payment-facts';
import { lastPositionOf, waitForProjections } from '../../support/read-side';
import { get, post, startSecureApis, type Reply, type SecureApis } from './support/apis';

/**
 * Another merchant's resources do not exist for a key: every route that takes an id answers as
 * it would for an id nobody has, whatever scopes the key holds, and nothing is stored.
 */
const ALL: Scope[] = ['payments:write', 'payments:read', 'audit:read', 'admin'];
const createBody = { amount: 5000, currency: 'usd', customer_id: 'cus_iso', payment_method: 'pm_card_visa', capture_method: 'manual' };

describe("when a merchant asks for another merchant's resources", () => {
  let apis: SecureApis;
  let intruderKey: string;
  let intruder: string;
  let victim: string;
  let victimPayment: string;
  let victimCaptured: string;
  let victimEntry: string;
  let ownEntry: string;
  let victimEvents: number;

  const comparable = (reply: Reply) => ({ status: reply.status, code: reply.json?.code, errors: reply.json?.errors });

  beforeAll(async () => {
    apis = await startSecureApis({ runners: true });
    intruder = `m_in_${randomUUID().slice(0, 8)}`;
    victim = `m_vi_${randomUUID().slice(0, 8)}`;
    intruderKey = (await apis.newKey(intruder, ALL)).key;
    const victimKey = (await apis.newKey(victim, ['payments:write'])).key;
    const create = async (key: string, idempotencyKey: string) => (await apis.write(post('/v1/payments', createBody, key, idempotencyKey))).json.id as string;
    victimPayment = await create(victimKey, 'order-1');
    victimCaptured = await create(victimKey, 'order-2');
    const ownCaptured = await create(intruderKey, 'own-order');
    await appendFacts(apis.store, victimPayment, [facts.authorized(5000)]);
    for (const id of [victimCaptured, ownCaptured]) await appendFacts(apis.store, id, [facts.authorized(5000), facts.captured(randomUUID(), 5000, 175)]);
    await waitForProjections(apis.pool, (await lastPositionOf(apis.pool, [victimPayment, victimCaptured, ownCaptured].map((id) => `payment-${id}`)))!);
    const entryOf = async (merchant: string) =>
      (await apis.pool.query('select id from ledger_entries where debit_account = $1 or credit_account = $1 limit 1', [`merchant_payable:${merchant}`])).rows[0].id as string;
    victimEntry = await entryOf(victim);
    ownEntry = await entryOf(intruder);
    victimEvents = await eventsOf(victimPayment, victimCaptured);
  });
  afterAll(async () => {
    expect(await eventsOf(victimPayment, victimCaptured)).toBe(victimEvents);
    expect(apis.logs.leaks([intruderKey])).toEqual([]);
    await apis.close();
  });

  async function eventsOf(...ids: string[]): Promise<number> {
    const { rows } = await apis.pool.query('select count(*)::int as n from events where stream_id = any($1)', [ids.map((id) => `payment-${id}`)]);
    return rows[0].n;
  }

  it.each([
    ['capture', () => `/v1/payments/${victimPayment}/capture`, { amount: 1000 }],
    ['cancel', () => `/v1/payments/${victimPayment}/cancel`, {}],
    ['refunds', () => `/v1/payments/${victimCaptured}/refunds`, { amount: 100 }],
  ])('answers %s on it 404 payment_not_found, as for an unknown id, and stores nothing', async (_verb, path, body) => {
    const theirs = await apis.write(post(path(), body, intruderKey, randomUUID()));
    const nobodys = await apis.write(post(path().replace(/[0-9a-f-]{36}/, randomUUID()), body, intruderKey, randomUUID()));
    expect(comparable(theirs)).toEqual({ status: 404, code: 'payment_not_found', errors: undefined });
    expect(comparable(theirs)).toEqual(comparable(nobodys));
  });

  it.each([
    ['the payment', () => `/v1/payments/${victimPayment}`, 'payment_not_found'],
    ['its event stream', () => `/v1/payments/${victimPayment}/events`, 'payment_not_found'],
    ['its payable account', () => `/v1/ledger/accounts/merchant_payable:${victim}`, 'account_not_found'],
    ['its account entries', () => `/v1/ledger/accounts/merchant_payable:${victim}/entries`, 'account_not_found'],
    ['a page after its payment', () => `/v1/payments?starting_after=${victimPayment}`, 'payment_not_found'],
  ])('answers a read of %s 404, even to a key with every scope', async (_what, path, code) => {
    const reply = await apis.read(get(path(), intruderKey));
    const nobodys = await apis.read(get(path().replace(victim, 'm_nobody').replace(victimPayment, randomUUID()), intruderKey));
    expect(comparable(reply)).toEqual({ status: 404, code, errors: undefined });
    // Word for word the answer about an id nobody has, but for the path the caller sent.
    const { instance: _theirs, ...answer } = reply.json;
    const { instance: _nobodys, ...expected } = nobodys.json;
    expect(answer).toEqual(expected);
  });

  it("answers a page of the merchant's own entries after another merchant's entry as after an entry nobody has", async () => {
    const path = (cursor: string) => `/v1/ledger/accounts/merchant_payable:${intruder}/entries?starting_after=${cursor}`;
    const theirs = await apis.read(get(path(victimEntry), intruderKey));
    const nobodys = await apis.read(get(path(randomUUID()), intruderKey));
    const own = await apis.read(get(path(ownEntry), intruderKey));
    expect(own.status).toBe(200);
    expect(theirs.status).toBe(400);
    expect(comparable(theirs)).toEqual(comparable(nobodys));
    expect(theirs.text).not.toContain(victim);
  });

  it("never lists another merchant's payments, and an Idempotency-Key is the merchant's own", async () => {
    const list = await apis.read(get('/v1/payments?limit=100', intruderKey));
    expect(list.status).toBe(200);
    expect(list.json.data.map((p: { id: string }) => p.id)).not.toEqual(expect.arrayContaining([victimPayment]));
    // The victim used order-1; the same key from the intruder is a new payment of its own, not a replay.
    const reused = await apis.write(post('/v1/payments', createBody, intruderKey, 'order-1'));
    expect(reused.status).toBe(202);
    expect(reused.headers['idempotent-replayed']).toBeUndefined();
    expect(reused.json.id).not.toBe(victimPayment);
  });
});
