import { randomBytes, randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { startSecureApis, type Reply, type SecureApis } from './support/apis';

/**
 * Stripe webhook intake: the signature is checked on the raw body against every configured
 * secret (two during a rotation) within 300 s, the body is size-limited, and a refused delivery
 * stores nothing.
 */
const secret = () => `whsec_${randomBytes(24).toString('base64')}`;
const LIMIT = 16_384;

describe('webhook intake while a secret is rotated', () => {
  let apis: SecureApis;
  let oldSecret: string;
  let newSecret: string;

  beforeAll(async () => {
    oldSecret = secret();
    newSecret = secret();
    apis = await startSecureApis({ webhookSecrets: [oldSecret, newSecret], bodyLimitBytes: LIMIT });
  });
  afterAll(async () => {
    expect(apis.logs.leaks([oldSecret, newSecret])).toEqual([]);
    await apis.close();
  });

  const event = (extra: Record<string, unknown> = {}) => {
    const id = `evt_${randomUUID().replace(/-/g, '')}`;
    return { id, payload: JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_1' } }, ...extra }) };
  };
  const deliver = (payload: string | Buffer, signature?: string): Promise<Reply> =>
    apis.write({
      method: 'POST',
      path: '/v1/webhooks/stripe',
      headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'stripe-signature': signature }) },
      body: payload,
    });
  const sign = (payload: string, with_: string, secondsAgo = 0) =>
    Stripe.webhooks.generateTestHeaderString({ payload, secret: with_, timestamp: Math.floor(Date.now() / 1000) - secondsAgo });
  const stored = async (id: string) =>
    Number((await apis.pool.query('select count(*) from events where stream_id = $1', [`stripe-event-${id}`])).rows[0].count);

  it.each([
    ['the old secret', () => oldSecret],
    ['the new secret', () => newSecret],
  ])('takes an event signed with %s', async (_name, which) => {
    const { id, payload } = event();
    const reply = await deliver(payload, sign(payload, which()));
    expect(reply.status).toBe(200);
    expect(await stored(id)).toBe(1);
  });

  it('takes a header that carries signatures from both secrets, as Stripe sends during a roll', async () => {
    const { id, payload } = event();
    const both = `${sign(payload, oldSecret)},v1=${sign(payload, newSecret).split('v1=')[1]}`;
    expect((await deliver(payload, both)).status).toBe(200);
    expect(await stored(id)).toBe(1);
  });

  it('takes an event signed 290 s ago and refuses one signed 310 s ago', async () => {
    const fresh = event();
    expect((await deliver(fresh.payload, sign(fresh.payload, newSecret, 290))).status).toBe(200);
    const stale = event();
    const reply = await deliver(stale.payload, sign(stale.payload, newSecret, 310));
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'webhook_signature_invalid' });
    expect(await stored(stale.id)).toBe(0);
  });

  it.each([
    ['a secret no longer configured', (p: string) => sign(p, secret())],
    ['no signature header', () => undefined],
    ['an empty signature', () => ''],
    ['a signature of another body', (p: string) => sign(p.replace('pi_1', 'pi_2'), newSecret)],
    ['a v0 signature only', (p: string) => sign(p, newSecret).replace('v1=', 'v0=')],
    ['garbage', () => 't=abc,v1=zzz'],
  ])('refuses an event with %s, stores nothing, and says nothing of the secrets', async (_name, signature) => {
    const { id, payload } = event();
    const reply = await deliver(payload, signature(payload));
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'webhook_signature_invalid' });
    expect(reply.headers['content-type']).toContain('application/problem+json');
    expect(reply.text).not.toMatch(/whsec_|v1=|stack/);
    expect(await stored(id)).toBe(0);
  });

  it('refuses a body over the size limit with 413 before looking at it, and stores nothing', async () => {
    const { id, payload } = event({ padding: 'x'.repeat(LIMIT) });
    const reply = await deliver(payload, sign(payload, newSecret));
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 413, code: 'payload_too_large' });
    expect(await stored(id)).toBe(0);
  });

  it('takes a body just under the size limit', async () => {
    const base = event();
    const padding = 'x'.repeat(LIMIT - base.payload.length - 20);
    const { id, payload } = event({ padding });
    expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(LIMIT);
    expect((await deliver(payload, sign(payload, newSecret))).status).toBe(200);
    expect(await stored(id)).toBe(1);
  });

  it('answers other methods 405 method_not_allowed', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS']) {
      const reply = await apis.write({ method, path: '/v1/webhooks/stripe' });
      expect({ method, status: reply.status, code: reply.json?.code }).toEqual({ method, status: 405, code: 'method_not_allowed' });
    }
  });
});
