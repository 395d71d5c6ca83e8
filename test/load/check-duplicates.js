'use strict';
// After a load run: did any retried or concurrent request make Stripe do something twice?
//
// For every payment of the key's merchant (the ledger's read API) it looks at what the
// stripe-sandbox holds (its /__sandbox inspection endpoint and its Stripe API) and fails when
//   - a payment has more than one PaymentIntent (an authorization made twice),
//   - a payment has more than one captured charge (a capture made twice),
//   - a ledger refund id has more than one Stripe refund (a refund made twice),
//   - what Stripe captured or refunded for a payment differs from what the ledger recorded,
//   - the two have not settled within LOAD_SETTLE_TIMEOUT_MS.
// It first waits for the saga to settle (nothing changes for a few seconds), since a capture or a
// refund the saga has not yet made is not a duplicate. Exit 0: clean; 1: findings; 2: not runnable.

// Run with `node --env-file=defaults.env` (npm run check-duplicates) for the defaults.
const READ_URL = process.env.LEDGER_READ_URL;
const API_KEY = process.env.LEDGER_API_KEY;
const SANDBOX_URL = process.env.STRIPE_SANDBOX_URL;
const SETTLE_TIMEOUT_MS = Number(process.env.LOAD_SETTLE_TIMEOUT_MS);
const SETTLE_QUIET_MS = 3000;
// Any sk_test_ key opens the sandbox's API.
const SANDBOX_KEY = 'sk_test_load_check';

async function getJson(url, headers) {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  return response.json();
}

/** Every payment of the merchant, newest first, through the read API's cursor. */
async function ledgerPayments() {
  const payments = [];
  let after = null;
  for (;;) {
    const query = `limit=100${after ? `&starting_after=${after}` : ''}`;
    const page = await getJson(`${READ_URL}/v1/payments?${query}`, { authorization: `Bearer ${API_KEY}` });
    payments.push(...page.data);
    if (!page.has_more) return payments;
    after = page.data[page.data.length - 1].id;
  }
}

/** Every object of a Stripe list on the sandbox (charges, refunds), newest first. */
async function stripeList(resource) {
  const objects = [];
  let after = null;
  for (;;) {
    const query = `limit=100${after ? `&starting_after=${after}` : ''}`;
    const page = await getJson(`${SANDBOX_URL}/v1/${resource}?${query}`, { authorization: `Bearer ${SANDBOX_KEY}` });
    objects.push(...page.data);
    if (!page.has_more) return objects;
    after = page.data[page.data.length - 1].id;
  }
}

async function snapshot() {
  const [payments, intents, charges, refunds] = await Promise.all([
    ledgerPayments(),
    getJson(`${SANDBOX_URL}/__sandbox/payment_intents`).then((list) => list.data),
    stripeList('charges'),
    stripeList('refunds'),
  ]);
  return { payments, intents, charges, refunds };
}

/** What must stop changing before the comparison means anything. */
function fingerprint(s) {
  const ledger = s.payments.map((p) => `${p.id}:${p.status}:${p.amount_captured}:${p.amount_refunded}`).join(',');
  const stripe = s.charges.map((c) => `${c.id}:${c.captured}:${c.amount_refunded}`).join(',');
  return `${ledger}|${s.intents.length}|${stripe}|${s.refunds.length}`;
}

async function settledSnapshot() {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let previous = await snapshot();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_QUIET_MS));
    const current = await snapshot();
    const requested = current.payments.filter((p) => p.status === 'requested').length;
    if (fingerprint(current) === fingerprint(previous) && requested === 0) return { ...current, settled: true };
    if (Date.now() > deadline) return { ...current, settled: false };
    previous = current;
  }
}

function groupBy(items, key) {
  const groups = new Map();
  for (const item of items) {
    const k = key(item);
    if (k === undefined || k === null) continue;
    groups.set(k, [...(groups.get(k) || []), item]);
  }
  return groups;
}

/** Every finding, one line each; none means no duplicate and no disagreement. */
function findings({ payments, intents, charges, refunds }) {
  const found = [];
  const intentsByPayment = groupBy(intents, (i) => i.metadata && i.metadata.payment_id);
  const chargesByIntent = groupBy(charges, (c) => c.payment_intent);
  const refundsByIntent = groupBy(refunds, (r) => r.payment_intent);
  for (const payment of payments) {
    const ownIntents = intentsByPayment.get(payment.id) || [];
    if (ownIntents.length > 1) found.push(`payment ${payment.id} has ${ownIntents.length} PaymentIntents: ${ownIntents.map((i) => i.id).join(', ')}`);
    const captured = ownIntents.flatMap((i) => chargesByIntent.get(i.id) || []).filter((c) => c.captured);
    if (captured.length > 1) found.push(`payment ${payment.id} was captured ${captured.length} times: ${captured.map((c) => c.id).join(', ')}`);
    const stripeCaptured = captured.reduce((sum, c) => sum + c.amount_captured, 0);
    if (stripeCaptured !== payment.amount_captured) {
      found.push(`payment ${payment.id}: Stripe captured ${stripeCaptured}, the ledger recorded ${payment.amount_captured}`);
    }
    const ownRefunds = ownIntents.flatMap((i) => refundsByIntent.get(i.id) || []).filter((r) => r.status === 'succeeded');
    for (const [refundId, same] of groupBy(ownRefunds, (r) => r.metadata && r.metadata.refund_id)) {
      if (same.length > 1) found.push(`refund ${refundId} of payment ${payment.id} was made ${same.length} times: ${same.map((r) => r.id).join(', ')}`);
    }
    const stripeRefunded = ownRefunds.reduce((sum, r) => sum + r.amount, 0);
    if (stripeRefunded !== payment.amount_refunded) {
      found.push(`payment ${payment.id}: Stripe refunded ${stripeRefunded}, the ledger recorded ${payment.amount_refunded}`);
    }
  }
  return found;
}

async function main() {
  if (!READ_URL || !API_KEY || !SANDBOX_URL || !(SETTLE_TIMEOUT_MS > 0)) {
    console.error('check-duplicates: set LEDGER_API_KEY, and run it through `npm run check-duplicates` for the rest (see README.md here)');
    return 2;
  }
  const state = await settledSnapshot();
  const ids = new Set(state.payments.map((p) => p.id));
  const intents = state.intents.filter((i) => i.metadata && ids.has(i.metadata.payment_id));
  const intentIds = new Set(intents.map((i) => i.id));
  const mine = {
    payments: state.payments,
    intents,
    charges: state.charges.filter((c) => intentIds.has(c.payment_intent)),
    refunds: state.refunds.filter((r) => intentIds.has(r.payment_intent)),
  };
  const byStatus = [...groupBy(mine.payments, (p) => p.status)].map(([status, list]) => `${status} ${list.length}`).join(', ');
  console.log(
    `check-duplicates: ${mine.payments.length} payments (${byStatus}); at Stripe ${mine.intents.length} PaymentIntents, ` +
      `${mine.charges.filter((c) => c.captured).length} captured charges, ${mine.refunds.length} refunds`,
  );
  const found = findings(mine);
  // Work still moving after the timeout is a stuck saga, and makes any disagreement above unreliable.
  if (!state.settled) found.unshift(`still changing after ${SETTLE_TIMEOUT_MS / 1000} s: the saga has not settled`);
  for (const line of found.slice(0, 50)) console.error(`  ${line}`);
  if (found.length > 50) console.error(`  ... and ${found.length - 50} more`);
  console.log(found.length === 0 ? 'check-duplicates: no duplicate, ledger and Stripe agree' : `check-duplicates: ${found.length} findings`);
  return found.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`check-duplicates: ${error.stack || error}`);
    process.exitCode = 2;
  },
);
