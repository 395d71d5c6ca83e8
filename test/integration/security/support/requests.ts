import { randomUUID } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import Stripe from 'stripe';

/** What the generator knows about the world it attacks. */
export interface FuzzWorld {
  /** Keys of the merchant under attack, by the scopes they hold. */
  readonly keys: Readonly<Record<'writer' | 'reader' | 'auditor' | 'admin' | 'all' | 'revoked', string>>;
  /** A key of another merchant. */
  readonly otherKey: string;
  readonly merchantId: string;
  readonly otherMerchantId: string;
  readonly paymentIds: readonly string[];
  readonly otherPaymentIds: readonly string[];
  readonly entryIds: readonly string[];
  readonly otherEntryIds: readonly string[];
  readonly webhookSecret: string;
}

export type IdempotencyMode = 'fresh' | 'missing' | 'empty' | 'long' | 'latin1' | 'spaces';

export interface FuzzRequest {
  readonly api: 'write' | 'read';
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly idempotency: IdempotencyMode;
  readonly body?: Buffer;
  /** How the request was made, for a failure message. */
  readonly note: string;
}

const validCreate = { amount: 2000, currency: 'usd', customer_id: 'cus_fuzz', payment_method: 'pm_card_visa', capture_method: 'manual' };
const CARD_NUMBERS = ['4242424242424242', '4000 0566 5566 5556', '5555-5555-5555-4444', '378282246310005', '6011111111111117'];

/** Header values Node can send: printable ASCII and Latin-1, nothing that ends a line. */
const headerValue = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 300 })
  .map((value) => value.trim());
const token = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), minLength: 1, maxLength: 30 });

/** A value that is wrong for almost any field. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, -1, 0, 1.5, 2 ** 53, 100_000_000, 1e21, -0, '', ' ', '0', 'NaN', 'usd ', 'USD', [], {}, [1], { a: 1 }),
  fc.constantFrom(...CARD_NUMBERS),
  fc.constantFrom('lk_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'whsec_leakedSecretValue123', 'Bearer lk_live_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'),
  fc.constantFrom('a\u0000b', '\ud800', '\u202e', '😀'.repeat(50), '<script>alert(1)</script>', "'; drop table events; --", '../../etc/passwd', '%00'),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 256, maxLength: 3000 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid body for the route with one field removed, replaced or added. */
function corrupted(valid: Record<string, unknown>): fc.Arbitrary<{ body: Record<string, unknown>; note: string }> {
  const fields = [...Object.keys(valid), 'description', 'metadata', 'reason', 'surprise'];
  return fc.tuple(fc.constantFrom(...fields), fc.oneof(fc.constant<'delete'>('delete'), wrongValue)).map(([field, value]) => {
    const body: Record<string, unknown> = { ...valid };
    if (value === 'delete') delete body[field];
    else body[field] = value;
    return { body, note: `${field}=${value === 'delete' ? '(deleted)' : JSON.stringify(value)?.slice(0, 60)}` };
  });
}

const validCommandBody = (route: string): Record<string, unknown> =>
  route === 'create' ? validCreate : route === 'capture' ? { amount: 1000 } : route === 'refunds' ? { amount: 500, reason: 'requested_by_customer' } : { reason: 'requested_by_customer' };

/** Bodies as bytes: JSON (valid, corrupted, random), text, binary, deeply nested, huge, compressed. */
function bodies(route: string): fc.Arbitrary<{ bytes?: Buffer; note: string; encoding?: string }> {
  const json = (value: unknown, note: string) => ({ bytes: Buffer.from(JSON.stringify(value) ?? 'undefined'), note });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(json(validCommandBody(route), 'valid')) },
    { weight: 8, arbitrary: corrupted(validCommandBody(route)).map(({ body, note }) => json(body, `corrupted ${note}`)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => json(value, 'random json')) },
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ bytes: Buffer.from(text), note: 'random text' })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ bytes: Buffer.from(bytes), note: 'random bytes' })) },
    { weight: 1, arbitrary: fc.constant({ note: 'no body' }) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100, max: 40_000 }).map((depth) => ({ bytes: Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`), note: `nested ${depth}` })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100, max: 20_000 }).map((depth) => ({
        bytes: Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
        note: `nested objects ${depth}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((size) => json({ ...validCreate, description: 'x'.repeat(size) }, `huge ${size}`)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('gzip', 'deflate', 'br'), fc.integer({ min: 10, max: 2_000_000 })).map(([encoding, size]) => {
        const plain = size > 60_000 ? Buffer.alloc(size, 0x20) : Buffer.from(JSON.stringify(validCommandBody(route)));
        const packed = encoding === 'gzip' ? gzipSync(plain) : encoding === 'deflate' ? deflateSync(plain) : brotliCompressSync(plain);
        return { bytes: packed, encoding, note: `${encoding} of ${plain.length} bytes` };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'x-bogus', 'identity, gzip'), fc.uint8Array({ maxLength: 300 })).map(
        ([encoding, bytes]) => ({ bytes: Buffer.from(bytes), encoding, note: `garbage ${encoding}` }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('{"amount": 2000,', '{"amount":1e400}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{}}}', '\ufeff{}', '{"a":"\\ud800"}', 'nul\u0000l').map(
        (text) => ({ bytes: Buffer.from(text), note: `literal ${text.slice(0, 30)}` }),
      ),
    },
  );
}

function ids(world: FuzzWorld): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...world.paymentIds) },
    { weight: 3, arbitrary: fc.constantFrom(...world.otherPaymentIds) },
    { weight: 1, arbitrary: fc.constantFrom(...world.entryIds, ...world.otherEntryIds) },
    { weight: 1, arbitrary: fc.uuid().map((id) => id) },
    { weight: 1, arbitrary: fc.uuid().map((id) => id.toUpperCase()) },
    { weight: 2, arbitrary: fc.webSegment().map((segment) => segment || 'x') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('..', '%2e%2e', '..%2f..%2fetc', '%E0%A4%A', '%', '%00', 'null', '0', '-1', ' ', '%20', '4242424242424242', 'lk_test_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'),
    },
    { weight: 1, arbitrary: fc.integer({ min: 300, max: 3000 }).map((n) => 'a'.repeat(n)) },
  );
}

function accounts(world: FuzzWorld): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(`merchant_payable:${world.merchantId}`, `merchant_payable:${world.otherMerchantId}`, 'stripe_balance', 'stripe_fees', 'merchant_payable:'),
    fc.webSegment().map((segment) => segment || 'x'),
    ids(world),
  );
}

function query(world: FuzzWorld): fc.Arbitrary<string> {
  const pair = fc.oneof(
    fc.tuple(fc.constant('limit'), fc.oneof(fc.integer({ min: -5, max: 1000 }).map(String), fc.constantFrom('1e2', '0x10', '', '10.0', ' 5', '100', '101'))),
    fc.tuple(fc.constant('starting_after'), fc.oneof(ids(world), fc.constantFrom(...world.entryIds, ...world.otherEntryIds))),
    fc.tuple(fc.constantFrom('status'), fc.constantFrom('requested', 'authorized', 'bogus', '')),
    fc.tuple(fc.constantFrom('customer_id', 'currency'), fc.oneof(fc.constantFrom('cus_fuzz', 'usd', 'USD'), fc.string({ maxLength: 20 }))),
    fc.tuple(fc.constantFrom('created_gte', 'created_lt'), fc.oneof(fc.constantFrom('2024-01-01', '0', '99999999999', '2024-13-45', 'yesterday'), fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())))),
    fc.tuple(token, fc.string({ maxLength: 20 })),
  );
  return fc.array(pair, { maxLength: 4 }).map((pairs) =>
    pairs.length === 0 ? '' : `?${pairs.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&')}`,
  );
}

function paths(world: FuzzWorld): fc.Arbitrary<{ api: 'write' | 'read'; path: string; route: string }> {
  const command = fc.constantFrom('capture', 'cancel', 'refunds');
  return fc.oneof(
    { weight: 6, arbitrary: query(world).map((q) => ({ api: 'write' as const, path: `/v1/payments${q}`, route: 'create' })) },
    { weight: 6, arbitrary: fc.tuple(ids(world), command).map(([id, verb]) => ({ api: 'write' as const, path: `/v1/payments/${id}/${verb}`, route: verb })) },
    { weight: 2, arbitrary: fc.constant({ api: 'write' as const, path: '/v1/webhooks/stripe', route: 'webhook' }) },
    { weight: 4, arbitrary: query(world).map((q) => ({ api: 'read' as const, path: `/v1/payments${q}`, route: 'list' })) },
    { weight: 4, arbitrary: fc.tuple(ids(world), query(world)).map(([id, q]) => ({ api: 'read' as const, path: `/v1/payments/${id}${q}`, route: 'get' })) },
    { weight: 2, arbitrary: ids(world).map((id) => ({ api: 'read' as const, path: `/v1/payments/${id}/events`, route: 'events' })) },
    { weight: 2, arbitrary: fc.tuple(accounts(world), query(world)).map(([a, q]) => ({ api: 'read' as const, path: `/v1/ledger/accounts/${a}${q}`, route: 'account' })) },
    { weight: 3, arbitrary: fc.tuple(accounts(world), query(world)).map(([a, q]) => ({ api: 'read' as const, path: `/v1/ledger/accounts/${a}/entries${q}`, route: 'entries' })) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom<'write' | 'read'>('write', 'read'), fc.webPath({ size: 'small' }), query(world)).map(([api, path, q]) => ({
        api,
        path: `${path.startsWith('/') ? path : `/${path}`}${q}`,
        route: 'random',
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom<'write' | 'read'>('write', 'read'), fc.constantFrom('/', '//v1/payments', '/v1/payments/', '/V1/PAYMENTS', '/v1/payments;x=1', '/v1/payments?limit=10#frag', '/v1/./payments', '/v1/payments/%2F..%2F', '/*', '/v1/webhooks/stripe/')).map(
        ([api, path]) => ({ api, path, route: 'odd' }),
      ),
    },
  );
}

function authorization(world: FuzzWorld): fc.Arbitrary<string | undefined> {
  const k = world.keys;
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(k.writer, k.all).map((key) => `Bearer ${key}`) },
    { weight: 4, arbitrary: fc.constantFrom(k.reader, k.auditor, k.admin).map((key) => `Bearer ${key}`) },
    { weight: 2, arbitrary: fc.constant(`Bearer ${world.otherKey}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${k.revoked}`) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        `bearer ${k.writer}`,
        `Bearer  ${k.writer}`,
        `Bearer ${k.writer} `,
        `Basic ${Buffer.from(`${k.writer}:`).toString('base64')}`,
        `Bearer ${k.writer.slice(0, -1)}${k.writer.endsWith('A') ? 'B' : 'A'}`,
        `Bearer ${k.writer.replace('lk_test_', 'lk_live_')}`,
        `Bearer ${k.writer}${k.writer}`,
        'Bearer lk_test_00000000000000000000000000000000',
        'Bearer ',
        'Bearer',
        `Bearer ${'x'.repeat(5000)}`,
        'Bearer 4242424242424242',
      ),
    },
    { weight: 1, arbitrary: headerValue },
  );
}

const contentTypes = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset=bogus',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/merge-patch+json',
      'application/vnd.api+json',
      'application/jsonx',
      '*/*',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: headerValue },
);

/** A webhook body, validly signed and then broken in one way, or plain garbage. */
function webhookCall(world: FuzzWorld): fc.Arbitrary<{ body: Buffer; signature?: string; note: string }> {
  const event = (id: string) => JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_fuzz' } } });
  const sign = (payload: string, secret: string, timestamp: number) => Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
  const now = () => Math.floor(Date.now() / 1000);
  return fc.oneof(
    fc.tuple(fc.constantFrom('wrong-secret', 'stale', 'tampered', 'no-v1', 'v0-only', 'bad-id'), fc.nat()).map(([how, n]) => {
      const payload = event(how === 'bad-id' ? `not an id ${n}` : `evt_fuzz_${n}_${randomUUID().slice(0, 8)}`);
      const secret = how === 'wrong-secret' ? 'whsec_notTheConfiguredSecret' : world.webhookSecret;
      const at = how === 'stale' ? now() - 301 - (n % 10_000) : now();
      let signature = sign(payload, secret, at);
      if (how === 'no-v1') signature = signature.replace(/,v1=[0-9a-f]+/, '');
      if (how === 'v0-only') signature = signature.replace('v1=', 'v0=');
      // A bad-id event is signed correctly: the intake must refuse it for its id alone.
      const body = how === 'tampered' ? payload.replace('pi_fuzz', 'pi_fuzx') : payload;
      return { body: Buffer.from(body), signature, note: `webhook ${how}` };
    }),
    fc.tuple(fc.uint8Array({ maxLength: 500 }), fc.option(headerValue)).map(([bytes, signature]) => ({
      body: Buffer.from(bytes),
      ...(signature === null ? {} : { signature }),
      note: 'webhook garbage',
    })),
  );
}

export function fuzzRequests(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const method = fc.oneof(
    { weight: 8, arbitrary: fc.constant('POST') },
    { weight: 6, arbitrary: fc.constant('GET') },
    { weight: 3, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
  );
  const idempotency = fc.oneof(
    { weight: 12, arbitrary: fc.constant<IdempotencyMode>('fresh') },
    { weight: 1, arbitrary: fc.constantFrom<IdempotencyMode>('missing', 'empty', 'long', 'latin1', 'spaces') },
  );
  const extraHeaders = fc.dictionary(
    fc.oneof(token, fc.constantFrom('x-min-position', 'x-correlation-id', 'x-forwarded-for', 'x-http-method-override', 'origin', 'accept-encoding', 'cookie', 'expect')),
    headerValue,
    { maxKeys: 3 },
  );
  return fc
    .record({
      target: paths(world),
      method,
      authorization: authorization(world),
      contentType: contentTypes,
      idempotency,
      extraHeaders,
    })
    .chain((shape) =>
      (shape.target.route === 'webhook' ? webhookCall(world).map((w) => ({ bytes: w.body, note: w.note, signature: w.signature, encoding: undefined as string | undefined })) : bodies(shape.target.route).map((b) => ({ ...b, signature: undefined as string | undefined }))).map(
        (body): FuzzRequest => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(shape.extraHeaders)) {
            if (!['content-length', 'transfer-encoding', 'host', 'connection', 'content-encoding', 'expect'].includes(name)) headers[name] = value;
          }
          if (shape.authorization !== undefined) headers.authorization = shape.authorization;
          if (shape.contentType !== undefined) headers['content-type'] = shape.contentType;
          if (body.encoding) headers['content-encoding'] = body.encoding;
          if (body.signature !== undefined) headers['stripe-signature'] = body.signature;
          return {
            api: shape.target.api,
            method: shape.method,
            // What cannot go on the request line is sent percent-encoded, as any client would.
            path: shape.target.path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c).replace(/%25/g, '%')),
            headers,
            idempotency: shape.idempotency,
            ...(body.bytes !== undefined ? { body: body.bytes } : {}),
            note: body.note,
          };
        },
      ),
    );
}

/** The Idempotency-Key header a request carries; `fresh` keys are unique per request. */
export function idempotencyHeader(mode: IdempotencyMode, fresh: () => string): string | undefined {
  switch (mode) {
    case 'fresh':
      return fresh();
    case 'missing':
      return undefined;
    case 'empty':
      return '';
    case 'long':
      return 'k'.repeat(256);
    case 'latin1':
      return `caf\u00e9-${randomUUID()}`;
    case 'spaces':
      return `  ${randomUUID()} key  `;
    default: {
      const unreachable: never = mode;
      throw new Error(`unknown mode ${String(unreachable)}`);
    }
  }
}
