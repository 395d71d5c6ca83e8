import { randomUUID } from 'node:crypto';
import { startWriteApi, type WriteApiHarness } from '../../support/write-api';

const valid = { amount: 2000, currency: 'usd', customer_id: 'cus_1', payment_method: 'pm_card_visa' };
const json = (value: unknown) => JSON.stringify(value);

interface Case {
  readonly name: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly auth?: 'none' | 'unknown' | 'malformed' | 'read-only';
  readonly noIdempotencyKey?: boolean;
  readonly status: number;
  readonly code: string;
}

const cases: Case[] = [
  { name: 'malformed JSON', body: '{"amount": 2000,', status: 400, code: 'malformed_json' },
  { name: 'a JSON array instead of an object', body: '[1,2,3]', status: 400, code: 'validation_failed' },
  { name: 'a bare JSON string', body: '"hello"', status: 400, code: 'validation_failed' },
  { name: 'JSON null', body: 'null', status: 400, code: 'validation_failed' },
  { name: 'amount as a string', body: json({ ...valid, amount: '2000' }), status: 400, code: 'validation_failed' },
  { name: 'a fractional amount', body: json({ ...valid, amount: 20.5 }), status: 400, code: 'validation_failed' },
  { name: 'a negative amount', body: json({ ...valid, amount: -1 }), status: 400, code: 'validation_failed' },
  { name: 'a zero amount', body: json({ ...valid, amount: 0 }), status: 400, code: 'validation_failed' },
  { name: 'an amount one over the maximum', body: json({ ...valid, amount: 100_000_000 }), status: 400, code: 'validation_failed' },
  { name: 'a huge amount', body: '{"amount": 1e400, "currency": "usd", "customer_id": "c", "payment_method": "pm_card_visa"}', status: 400, code: 'validation_failed' },
  { name: 'an unknown currency', body: json({ ...valid, currency: 'xyz' }), status: 400, code: 'validation_failed' },
  { name: 'an uppercase currency', body: json({ ...valid, currency: 'USD' }), status: 400, code: 'validation_failed' },
  { name: 'a three-decimal amount Stripe cannot take', body: json({ ...valid, currency: 'kwd', amount: 1001 }), status: 400, code: 'validation_failed' },
  { name: 'an unknown field', body: json({ ...valid, surprise: true }), status: 400, code: 'validation_failed' },
  { name: 'a missing field', body: json({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa' }), status: 400, code: 'validation_failed' },
  { name: 'a bad capture_method', body: json({ ...valid, capture_method: 'later' }), status: 400, code: 'validation_failed' },
  { name: 'a payment method that is not a token', body: json({ ...valid, payment_method: 'visa' }), status: 400, code: 'validation_failed' },
  { name: 'a NUL character', body: json({ ...valid, description: 'a\u0000b' }), status: 400, code: 'validation_failed' },
  { name: 'an unpaired surrogate', body: '{"amount":2000,"currency":"usd","customer_id":"c","payment_method":"pm_card_visa","description":"\\ud800"}', status: 400, code: 'validation_failed' },
  { name: 'too many metadata keys', body: json({ ...valid, metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }), status: 400, code: 'validation_failed' },
  { name: 'a metadata value that is not a string', body: json({ ...valid, metadata: { a: { b: 1 } } }), status: 400, code: 'validation_failed' },
  { name: 'a 1 MB body', body: json({ ...valid, description: 'x'.repeat(1024 * 1024) }), status: 413, code: 'payload_too_large' },
  { name: 'a text/plain content type', body: json(valid), headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'a form-encoded body', body: 'amount=2000&currency=usd', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'an unsupported charset', body: json(valid), headers: { 'content-type': 'application/json; charset=latin-7' }, status: 415, code: 'unsupported_media_type' },
  { name: 'a card number as the payment method', body: json({ ...valid, payment_method: '4242424242424242' }), status: 400, code: 'card_data_not_accepted' },
  { name: 'a spaced card number in the description', body: json({ ...valid, description: 'card 4242 4242 4242 4242 exp 12/30' }), status: 400, code: 'card_data_not_accepted' },
  { name: 'a card number in metadata', body: json({ ...valid, metadata: { pan: '5555-5555-5555-4444' } }), status: 400, code: 'card_data_not_accepted' },
  { name: 'a card number as a number', body: '{"amount":2000,"currency":"usd","customer_id":"c","payment_method":"pm_card_visa","metadata":{"x":4111111111111111}}', status: 400, code: 'card_data_not_accepted' },
  { name: 'a card number as a key', body: json({ ...valid, metadata: { '4000056655665556': 'x' } }), status: 400, code: 'card_data_not_accepted' },
  { name: 'a missing API key', auth: 'none', body: json(valid), status: 401, code: 'unauthorized' },
  { name: 'an unknown API key', auth: 'unknown', body: json(valid), status: 401, code: 'unauthorized' },
  { name: 'a malformed Authorization header', auth: 'malformed', body: json(valid), status: 401, code: 'unauthorized' },
  { name: 'a key without payments:write', auth: 'read-only', body: json(valid), status: 403, code: 'forbidden' },
  { name: 'a missing Idempotency-Key', noIdempotencyKey: true, body: json(valid), status: 400, code: 'idempotency_key_missing' },
  { name: 'an over-long Idempotency-Key', headers: { 'idempotency-key': 'k'.repeat(256) }, body: json(valid), status: 400, code: 'validation_failed' },
];

describe('hostile input to POST /v1/payments', () => {
  let api: WriteApiHarness;
  let key: string;
  let readOnlyKey: string;
  let actors: string[];

  beforeAll(async () => {
    api = await startWriteApi();
    const merchant = `m_${randomUUID().slice(0, 8)}`;
    const writer = await api.newKey(merchant);
    const reader = await api.newKey(merchant, ['payments:read']);
    key = writer.key;
    readOnlyKey = reader.key;
    actors = [writer.id, reader.id];
  });
  afterAll(() => api.close());

  const storedByThisTest = async () =>
    Number((await api.pool.query("select count(*) from events where metadata->>'actor' = any($1)", [actors])).rows[0].count);

  it.each(cases)('answers $status $code to $name and stores nothing', async (testCase) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...testCase.headers };
    if (testCase.noIdempotencyKey) delete headers['idempotency-key'];
    const auth = testCase.auth;
    if (auth === undefined) headers.authorization = `Bearer ${key}`;
    if (auth === 'unknown') headers.authorization = 'Bearer lk_test_00000000000000000000000000000000';
    if (auth === 'malformed') headers.authorization = `Basic ${key}`;
    if (auth === 'read-only') headers.authorization = `Bearer ${readOnlyKey}`;
    const before = await storedByThisTest();

    const response = await api.request({ method: 'POST', path: '/v1/payments', headers, body: testCase.body });

    expect({ status: response.status, code: response.body?.code }).toEqual({ status: testCase.status, code: testCase.code });
    expect(response.contentType).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status: testCase.status, title: expect.any(String), type: expect.stringContaining(testCase.code) });
    expect(JSON.stringify(response.body)).not.toMatch(/4242424242424242|5555-5555-5555-4444|4111111111111111/);
    expect(await storedByThisTest()).toBe(before);
  });

  it('answers 404 route_not_found as problem+json for an unknown route', async () => {
    const response = await api.post('/v1/nothing-here', valid, { key, idempotencyKey: randomUUID() });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('route_not_found');
  });

  it('answers 404 payment_not_found for a capture of an id that is not a payment id', async () => {
    const response = await api.post('/v1/payments/not-a-uuid/capture', {}, { key, idempotencyKey: randomUUID() });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('payment_not_found');
  });
});
