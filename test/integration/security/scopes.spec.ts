import { randomUUID } from 'node:crypto';
import type express from 'express';
import type { Scope } from '../../../ports/api-keys';
import { SCOPES } from '../../../ports/api-keys';
import { createWriteApi } from '../../../write-api/app';
import { createReadApi } from '../../../read-api/app';
import type { EventStore } from '../../../ports/event-store';
import { appendFacts, facts } from '../../support/payment-facts';
import { lastPositionOf, waitForProjections } from '../../support/read-side';
import { get, post, startSecureApis, type Call, type SecureApis } from './support/apis';

/**
 * Every route times every scope. A route needs exactly the scope in its row; a key with any
 * other single scope is refused with 403 forbidden, a key with the scope gets a 2xx.
 */
interface Row {
  readonly api: 'write' | 'read';
  readonly method: 'GET' | 'POST';
  /** The route as express declares it. */
  readonly route: string;
  /** Every scope the call needs. */
  readonly needs: readonly Scope[];
  /** A call that succeeds with the scopes, made fresh for each key (commands change state). */
  call(world: World, key: string): Promise<Call>;
  /** The answer past the scope check, when it is not a 2xx (a lookup of an id that does not exist). */
  readonly allowedAnswer?: { readonly status: number; readonly code: string };
}

interface World {
  readonly apis: SecureApis;
  readonly merchantId: string;
  readonly seedKey: string;
  readonly paymentId: string;
  /** A payment in the given state, new for each call. */
  payment(state: 'authorized' | 'captured'): Promise<string>;
}

const createBody = { amount: 5000, currency: 'usd', customer_id: 'cus_scopes', payment_method: 'pm_card_visa', capture_method: 'manual' };

const ROWS: readonly Row[] = [
  { api: 'write', method: 'POST', route: '/v1/payments', needs: ['payments:write'], call: async (_w, key) => post('/v1/payments', createBody, key, randomUUID()) },
  {
    api: 'write',
    method: 'POST',
    route: '/v1/payments/:id/capture',
    needs: ['payments:write'],
    call: async (w, key) => post(`/v1/payments/${await w.payment('authorized')}/capture`, { amount: 1000 }, key, randomUUID()),
  },
  {
    api: 'write',
    method: 'POST',
    route: '/v1/payments/:id/cancel',
    needs: ['payments:write'],
    call: async (w, key) => post(`/v1/payments/${await w.payment('authorized')}/cancel`, {}, key, randomUUID()),
  },
  {
    api: 'write',
    method: 'POST',
    route: '/v1/payments/:id/refunds',
    needs: ['payments:write'],
    call: async (w, key) => post(`/v1/payments/${await w.payment('captured')}/refunds`, { amount: 500 }, key, randomUUID()),
  },
  { api: 'read', method: 'GET', route: '/v1/payments', needs: ['payments:read'], call: async (_w, key) => get('/v1/payments', key) },
  { api: 'read', method: 'GET', route: '/v1/payments/:id', needs: ['payments:read'], call: async (w, key) => get(`/v1/payments/${w.paymentId}`, key) },
  { api: 'read', method: 'GET', route: '/v1/payments/:id/events', needs: ['audit:read'], call: async (w, key) => get(`/v1/payments/${w.paymentId}/events`, key) },
  {
    api: 'read',
    method: 'GET',
    route: '/v1/ledger/accounts/:account',
    needs: ['payments:read'],
    call: async (w, key) => get(`/v1/ledger/accounts/merchant_payable:${w.merchantId}`, key),
  },
  {
    api: 'read',
    method: 'GET',
    route: '/v1/ledger/accounts/:account/entries',
    needs: ['payments:read'],
    call: async (w, key) => get(`/v1/ledger/accounts/merchant_payable:${w.merchantId}/entries`, key),
  },
];

/** Reconciliation is for platform operators: the admin scope alone. */
const RECONCILIATION_ROWS: readonly Row[] = [
  {
    api: 'write',
    method: 'POST',
    route: '/v1/reconciliation/runs',
    needs: ['admin'],
    call: async (_w, key) => post('/v1/reconciliation/runs', { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }, key, randomUUID()),
  },
  {
    api: 'write',
    method: 'POST',
    route: '/v1/reconciliation/discrepancies/:id/resolve',
    needs: ['admin'],
    call: async (_w, key) => post(`/v1/reconciliation/discrepancies/${randomUUID()}/resolve`, { resolution: 'accepted', note: 'checked' }, key, randomUUID()),
    allowedAnswer: { status: 404, code: 'discrepancy_not_found' },
  },
  {
    api: 'read',
    method: 'GET',
    route: '/v1/reconciliation/runs/:id',
    needs: ['admin'],
    call: async (_w, key) => get(`/v1/reconciliation/runs/${randomUUID()}`, key),
    allowedAnswer: { status: 404, code: 'run_not_found' },
  },
];

/** Platform accounts are the same route with one more scope. */
const PLATFORM_ROWS: readonly Row[] = [
  { api: 'read', method: 'GET', route: '/v1/ledger/accounts/:account', needs: ['payments:read', 'admin'], call: async (_w, key) => get('/v1/ledger/accounts/stripe_balance', key) },
  {
    api: 'read',
    method: 'GET',
    route: '/v1/ledger/accounts/:account/entries',
    needs: ['payments:read', 'admin'],
    call: async (_w, key) => get('/v1/ledger/accounts/stripe_balance/entries', key),
  },
];

/** Routes that take no API key: Stripe signs its webhooks instead. */
const PUBLIC_ROUTES = ['POST /v1/webhooks/stripe'];

/** Every single scope, every pair the platform rows need, and every scope at once. */
const KEY_SCOPES: readonly (readonly Scope[])[] = [...SCOPES.map((scope) => [scope]), ['payments:read', 'admin'], [...SCOPES]];

function declaredRoutes(app: express.Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle: { stack?: Layer[] } };
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods)
            .filter((method) => method !== '_all')
            .map((method) => `${method.toUpperCase()} ${layer.route!.path}`)
        : layer.handle.stack
          ? walk(layer.handle.stack)
          : [],
    );
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
}

describe('the scope matrix', () => {
  let world: World;
  let apis: SecureApis;
  const keys = new Map<string, string>();

  beforeAll(async () => {
    apis = await startSecureApis({ runners: true });
    const merchantId = `m_sc_${randomUUID().slice(0, 8)}`;
    const seedKey = (await apis.newKey(merchantId, ['payments:write'])).key;
    for (const scopes of KEY_SCOPES) keys.set(scopes.join('+'), (await apis.newKey(merchantId, [...scopes])).key);
    const payment = async (state: 'authorized' | 'captured' | 'requested') => {
      const reply = await apis.write(post('/v1/payments', createBody, seedKey, randomUUID()));
      const id = reply.json.id as string;
      if (state !== 'requested') await appendFacts(apis.store, id, state === 'authorized' ? [facts.authorized(5000)] : [facts.authorized(5000), facts.captured(randomUUID(), 5000, 175)]);
      return id;
    };
    const paymentId = await payment('captured');
    await waitForProjections(apis.pool, (await lastPositionOf(apis.pool, [`payment-${paymentId}`]))!);
    world = { apis, merchantId, seedKey, paymentId, payment };
  });
  afterAll(async () => {
    expect(apis.logs.leaks([...keys.values()])).toEqual([]);
    await apis.close();
  });

  it('has a row for every route either API declares', () => {
    const stub = { apiKeys: { authenticate: async () => null }, logError: () => undefined };
    const write = createWriteApi({
      ...stub,
      store: {} as EventStore,
      clock: () => new Date(),
      bodyLimitBytes: 1024,
      webhooks: { secrets: ['whsec_x'] },
      reconciliation: { pool: {} as never },
    });
    const read = createReadApi({ ...stub, pool: {} as never, store: {} as EventStore, checkpoints: { waitFor: async () => ({ reached: true, position: null }), stop: () => undefined } as never });
    const covered = new Set([...ROWS, ...RECONCILIATION_ROWS].map((row) => `${row.method} ${row.route}`).concat(PUBLIC_ROUTES));
    const declared = [...declaredRoutes(write), ...declaredRoutes(read)];
    expect(declared.length).toBeGreaterThan(5);
    expect(declared.filter((route) => !covered.has(route))).toEqual([]);
  });

  const cases = [...ROWS, ...PLATFORM_ROWS, ...RECONCILIATION_ROWS].flatMap((row) =>
    KEY_SCOPES.map((scopes) => ({ row, scopes, allowed: row.needs.every((need) => scopes.includes(need)) })),
  );

  it.each(cases.map((c) => [`${c.row.method} ${c.row.route}${c.row.needs.length > 1 ? ' (platform account)' : ''}`, c.scopes.join('+'), c.allowed ? 'allows' : 'refuses', c] as const))(
    '%s with %s: %s',
    async (_name, scopeName, _verdict, { row, allowed }) => {
      const call = await row.call(world, keys.get(scopeName)!);
      const reply = row.api === 'write' ? await apis.write(call) : await apis.read(call);
      if (allowed) {
        const expected = row.allowedAnswer ?? { status: row.api === 'write' ? 202 : 200, code: undefined };
        expect({ status: reply.status, code: reply.json?.code }).toEqual(expected);
      } else {
        expect({ status: reply.status, code: reply.json?.code }).toEqual({ status: 403, code: 'forbidden' });
        expect(reply.headers['content-type']).toContain('application/problem+json');
      }
    },
  );

  it('refuses every keyed route without a key, with 401 and WWW-Authenticate', async () => {
    for (const row of [...ROWS, ...PLATFORM_ROWS, ...RECONCILIATION_ROWS]) {
      const call = await row.call(world, 'unused');
      const { authorization: _dropped, ...headers } = call.headers ?? {};
      const reply = row.api === 'write' ? await apis.write({ ...call, headers }) : await apis.read({ ...call, headers });
      expect({ route: row.route, status: reply.status, code: reply.json?.code }).toEqual({ route: row.route, status: 401, code: 'unauthorized' });
      expect(reply.headers['www-authenticate']).toBe('Bearer');
    }
  });
});
