import { randomBytes, randomUUID } from 'node:crypto';
import type { EventStore } from '../../../ports/event-store';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { testPool } from '../../support/postgres';
import { leaks } from '../../support/log-capture';
import { get, post, startSecureApis, type Reply, type SecureApis } from './support/apis';

/**
 * Card numbers, API keys, webhook secrets and Authorization headers never reach a log line or an
 * error body, and a stack trace never reaches a client, even when our own code fails with all of
 * them in the error. The apps log through the production format into a capture that is scanned.
 */
const CARD = '4242424242424242';
const SPACED_CARD = '5555 5555 5555 4444';

describe('log and error hygiene', () => {
  let apis: SecureApis;
  let key: string;
  let webhookSecret: string;
  const secrets: string[] = [];
  const replies: Reply[] = [];
  const pool = testPool(5);

  beforeAll(async () => {
    webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
    const real = createPostgresEventStore(pool);
    // The store fails whenever a payment is created with amount 4242: our bug, with every secret in its message.
    const failing: EventStore = {
      read: (...args) => real.read(...args),
      readAll: (...args) => real.readAll(...args),
      close: async () => undefined,
      append: async (streamId, events, expected) => {
        if ((events[0]?.data as { amount?: number } | undefined)?.amount === 4242) {
          throw new Error(`append failed for Bearer ${key} card ${CARD} secret ${webhookSecret} sk_test_${'q'.repeat(24)} at postgres://ledger:hunter2@db/ledger`);
        }
        return real.append(streamId, events, expected);
      },
    };
    // A Redis that fails, quoting what it was given, to exercise the limiter's error path.
    const redis = { call: async (...args: string[]) => Promise.reject(new Error(`redis down while running ${args.join(' ')} for ${key ?? ''}`)) };
    apis = await startSecureApis({ writeStore: failing, webhookSecrets: [webhookSecret], security: { rateLimit: { redis } } });
    key = (await apis.newKey(`m_logs_${randomUUID().slice(0, 8)}`, ['payments:write', 'payments:read', 'audit:read'])).key;
    secrets.push(key, webhookSecret, CARD);
  });
  afterAll(async () => {
    await apis.close();
    await pool.end();
  });

  const valid = { amount: 2000, currency: 'usd', customer_id: 'cus_logs', payment_method: 'pm_card_visa' };

  it('answers our own failure 500 internal_error with no stack, no message and no secret', async () => {
    const reply = await apis.write(post('/v1/payments', { ...valid, amount: 4242 }, key, randomUUID()));
    replies.push(reply);
    expect(reply.status).toBe(500);
    expect(reply.json).toEqual({
      type: 'urn:payment-ledger:problem:internal_error',
      title: 'Internal error',
      status: 500,
      code: 'internal_error',
      instance: '/v1/payments',
    });
    // The failure is in the log, with its stack, redacted.
    const line = apis.logs.lines().find((l) => l.includes('unhandled error'));
    expect(line).toBeDefined();
    expect(line).toContain('append failed for Bearer [redacted] card [card number redacted] secret whsec_[redacted] sk_[redacted]');
    expect(line).toContain('postgres://ledger:[redacted]@db');
    expect(line).toMatch(/"stack":"Error: append failed/);
  });

  it('keeps card numbers, keys and secrets out of every error body, wherever the request put them', async () => {
    const calls = [
      post('/v1/payments', { ...valid, payment_method: CARD }, key, randomUUID()),
      post('/v1/payments', { ...valid, description: `card ${SPACED_CARD}` }, key, randomUUID()),
      post('/v1/payments', { ...valid, metadata: { [CARD]: 'x' } }, key, randomUUID()),
      post('/v1/payments', { ...valid, [key]: 1, [webhookSecret]: 2 }, key, randomUUID()),
      post('/v1/payments', { ...valid, currency: key }, key, randomUUID()),
      post(`/v1/payments/${CARD}/capture`, {}, key, randomUUID()),
      post(`/v1/payments/${key}/capture`, {}, key, randomUUID()),
      post('/v1/payments', valid, key, `${key}${'x'.repeat(300)}`),
      get(`/v1/payments?customer_id=${CARD}&starting_after=${key}`, key),
      get(`/v1/payments/${webhookSecret}`, key),
      get(`/v1/ledger/accounts/merchant_payable:${CARD}`, key),
      get('/v1/payments', `${key}x`),
      get('/v1/payments', CARD),
      { method: 'POST', path: '/v1/webhooks/stripe', headers: { 'stripe-signature': `t=1,v1=${webhookSecret}` }, body: `{"card":"${CARD}","secret":"${webhookSecret}"}` },
    ];
    for (const call of calls) {
      const reply = call.path.startsWith('/v1/ledger') || call.method === 'GET' ? await apis.read(call) : await apis.write(call);
      replies.push(reply);
      expect({ path: call.path.slice(0, 40), status: reply.status < 500 && reply.status >= 400 }).toEqual({ path: call.path.slice(0, 40), status: true });
      expect(leaks(reply.text, secrets)).toBe(false);
    }
  });

  it('logs the rate limiter failing open, redacted', () => {
    const lines = apis.logs.lines().filter((l) => l.includes('redis down'));
    expect(lines.some((l) => l.includes('allowing request without rate-limiting'))).toBe(true);
    // Requests went through while Redis failed: the answers above were not 500s or 429s.
    expect(lines.some((l) => l.includes('for lk_[redacted]'))).toBe(true);
  });

  it('wrote no card-like digit run, key, secret or bearer token in any log line of the suite', () => {
    expect(apis.logs.lines().length).toBeGreaterThan(3);
    expect(apis.logs.leaks(secrets)).toEqual([]);
    expect(replies.filter((reply) => /\n\s+at\s|\.ts:\d+|node_modules/.test(reply.text))).toEqual([]);
  });
});
