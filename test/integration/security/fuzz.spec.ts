import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Scope } from '../../../ports/api-keys';
import { PROBLEM_STATUS } from '../../../infra/http/problem';
import { revokeApiKey } from '../../../infra/auth/api-key-lifecycle';
import { appendFacts, facts } from '../../support/payment-facts';
import { lastPositionOf, waitForProjections } from '../../support/read-side';
import { post, startSecureApis, type Reply, type SecureApis } from './support/apis';
import { fuzzRequests, idempotencyHeader, type FuzzRequest, type FuzzWorld } from './support/requests';

/**
 * Thousands of generated requests, hostile and nearly valid, against both APIs. Each answer must
 * be below 500, an error must be problem+json with a known code, and after the run every event
 * the attacked merchant's keys caused must trace back to a request that was answered 202: a
 * refused request changed nothing, in the event store or in the read models.
 */
const BATCHES = 100;
const BATCH_SIZE = 50;
const CONCURRENCY = 16;

const CODES = new Set(Object.keys(PROBLEM_STATUS));
const ALL_SCOPES: Scope[] = ['payments:write', 'payments:read', 'audit:read', 'admin'];

interface Outcome {
  readonly request: FuzzRequest;
  readonly idempotencyKey: string | undefined;
  readonly reply: Reply;
}

describe('the write and read APIs under generated hostile requests', () => {
  let apis: SecureApis;
  let world: FuzzWorld;
  let fuzzActors: string[];
  let otherStreams: string[];
  let snapshot: Snapshot;
  const accepted = new Set<string>();
  let sent = 0;

  beforeAll(async () => {
    const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
    apis = await startSecureApis({
      runners: true,
      webhookSecrets: [webhookSecret],
      // The limits are tested on their own; here they would turn most requests into 429s.
      security: { rateLimit: { perKey: 1_000_000, failedAuthPerClient: 1_000_000 } },
    });
    const merchantId = `m_fz_${randomUUID().slice(0, 8)}`;
    const otherMerchantId = `m_fo_${randomUUID().slice(0, 8)}`;
    const keys = {
      writer: await apis.newKey(merchantId, ['payments:write']),
      reader: await apis.newKey(merchantId, ['payments:read']),
      auditor: await apis.newKey(merchantId, ['audit:read']),
      admin: await apis.newKey(merchantId, ['admin']),
      all: await apis.newKey(merchantId, ALL_SCOPES),
      revoked: await apis.newKey(merchantId, ALL_SCOPES),
    };
    await revokeApiKey(apis.pool, keys.revoked.id);
    // The other merchant's key reads only: nothing the run sends may change that merchant's data.
    const other = await apis.newKey(otherMerchantId, ['payments:read', 'audit:read']);
    const seedKey = (await apis.newKey(merchantId, ['payments:write'])).key;
    const otherSeedKey = (await apis.newKey(otherMerchantId, ['payments:write'])).key;

    const seed = async (key: string, n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i += 1) {
        const reply = await apis.write(post('/v1/payments', { amount: 5000, currency: 'usd', customer_id: 'cus_fuzz', payment_method: 'pm_card_visa', capture_method: 'manual' }, key, `seed-${i}`));
        expect(reply.status).toBe(202);
        ids.push(reply.json.id);
      }
      await appendFacts(apis.store, ids[0]!, [facts.authorized(5000)]);
      await appendFacts(apis.store, ids[1]!, [facts.authorized(5000), facts.captured(randomUUID(), 3000, 117)]);
      return ids;
    };
    const paymentIds = await seed(seedKey, 4);
    const otherPaymentIds = await seed(otherSeedKey, 3);
    otherStreams = otherPaymentIds.map((id) => `payment-${id}`);
    await waitForProjections(apis.pool, (await lastPositionOf(apis.pool, [...paymentIds, ...otherPaymentIds].map((id) => `payment-${id}`)))!);
    const entries = async (merchant: string) =>
      (await apis.pool.query<{ id: string }>('select id from ledger_entries where debit_account = $1 or credit_account = $1', [`merchant_payable:${merchant}`])).rows.map((r) => r.id);

    world = {
      keys: Object.fromEntries(Object.entries(keys).map(([name, key]) => [name, key.key])) as FuzzWorld['keys'],
      otherKey: other.key,
      merchantId,
      otherMerchantId,
      paymentIds,
      otherPaymentIds,
      entryIds: await entries(merchantId),
      otherEntryIds: await entries(otherMerchantId),
      webhookSecret,
    };
    expect(world.entryIds.length).toBeGreaterThan(0);
    expect(world.otherEntryIds.length).toBeGreaterThan(0);
    fuzzActors = [...Object.values(keys).map((key) => key.id), other.id];
    snapshot = await takeSnapshot(apis, fuzzActors, otherMerchantId);
  });

  afterAll(async () => {
    expect(apis.logs.leaks([world.webhookSecret, ...Object.values(world.keys), world.otherKey])).toEqual([]);
    await apis.close();
  });

  it(`answers ${BATCHES * BATCH_SIZE} generated requests below 500, every error as problem+json with a known code`, async () => {
    let counter = 0;
    const fresh = () => `fz-${(counter += 1)}-${randomUUID().slice(0, 8)}`;
    await fc.assert(
      fc.asyncProperty(fc.array(fuzzRequests(world), { minLength: BATCH_SIZE, maxLength: BATCH_SIZE }), async (batch) => {
        const outcomes = await runLimited(batch, CONCURRENCY, async (request): Promise<Outcome> => {
          const idempotencyKey = idempotencyHeader(request.idempotency, fresh);
          const headers = { ...request.headers, ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }) };
          const call = { method: request.method, path: request.path, headers, ...(request.body ? { body: request.body } : {}) };
          const reply = await (request.api === 'write' ? apis.write(call) : apis.read(call));
          return { request, idempotencyKey, reply };
        });
        sent += outcomes.length;
        const failures = outcomes.map((outcome) => [outcome, verdict(outcome, world)] as const).filter(([, failure]) => failure !== null);
        if (failures.length > 0) throw new Error(failures.slice(0, 3).map(([outcome, failure]) => describeFailure(outcome, failure!)).join('\n\n'));
        for (const { reply, idempotencyKey } of outcomes) {
          if (reply.status === 202 && idempotencyKey !== undefined) accepted.add(idempotencyKey.trim());
        }
      }),
      {
        numRuns: BATCHES,
        endOnFailure: true,
        reporter: (details) => {
          if (!details.failed) return;
          const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
          throw new Error(`fuzz failed (replay with seed ${details.seed}, path "${details.counterexamplePath}"):\n${cause}`);
        },
      },
    );
    expect(sent).toBe(BATCHES * BATCH_SIZE);
    // Enough of the run got past validation to exercise the commands, and most of it did not.
    expect(accepted.size).toBeGreaterThan(20);
    expect(accepted.size).toBeLessThan(sent / 4);
  });

  it('stored only what the accepted requests asked for, and left the other merchant untouched', async () => {
    const { rows } = await apis.pool.query<{ key: string; type: string; stream_id: string }>(
      "select metadata->>'idempotency_key' as key, type, stream_id from events where metadata->>'actor' = any($1)",
      [fuzzActors],
    );
    const unexplained = rows.filter((row) => !accepted.has(row.key));
    expect(unexplained).toEqual([]);
    const creates = rows.filter((row) => row.type === 'PaymentRequested');
    expect(creates.length).toBeGreaterThan(0);
    expect(rows.some((row) => otherStreams.includes(row.stream_id))).toBe(false);

    const streams = [...new Set(rows.map((row) => row.stream_id))];
    const position = await lastPositionOf(apis.pool, streams);
    if (position) await waitForProjections(apis.pool, position);
    const after = await takeSnapshot(apis, fuzzActors, world.otherMerchantId);
    expect(after.eventsByOthers).toBe(snapshot.eventsByOthers);
    expect(after.otherPayments).toEqual(snapshot.otherPayments);
    expect(after.otherEntries).toBe(snapshot.otherEntries);
    expect(after.apiKeys).toEqual(snapshot.apiKeys);
    expect(after.stripeEventStreams).toBe(0);

    // The read model holds exactly the attacked merchant's payment streams: none from a refused request.
    const projected = await apis.pool.query<{ id: string }>('select id from payments where merchant_id = $1 order by id', [world.merchantId]);
    const fromEvents = await apis.pool.query<{ id: string }>(
      "select distinct data->>'payment_id' as id from events where type = 'PaymentRequested' and data->>'merchant_id' = $1 order by 1",
      [world.merchantId],
    );
    expect(projected.rows.map((row) => row.id)).toEqual(fromEvents.rows.map((row) => row.id));
    expect(projected.rows.length).toBe(world.paymentIds.length + creates.length);
  });
});

interface Snapshot {
  readonly eventsByOthers: number;
  readonly otherPayments: unknown[];
  readonly otherEntries: number;
  readonly apiKeys: unknown[];
  readonly stripeEventStreams: number;
}

async function takeSnapshot(apis: SecureApis, fuzzActors: readonly string[], otherMerchantId: string): Promise<Snapshot> {
  const one = async (sql: string, params: unknown[] = []) => Number((await apis.pool.query(sql, params)).rows[0].n);
  return {
    eventsByOthers: await one("select count(*) as n from events where not (metadata->>'actor' = any($1))", [fuzzActors]),
    otherPayments: (await apis.pool.query('select * from payments where merchant_id = $1 order by id', [otherMerchantId])).rows,
    otherEntries: await one('select count(*) as n from ledger_entries where debit_account = $1 or credit_account = $1', [`merchant_payable:${otherMerchantId}`]),
    apiKeys: (await apis.pool.query('select id, key_hash, merchant_id, scopes, revoked_at from api_keys order by id')).rows,
    stripeEventStreams: await one("select count(*) as n from streams where stream_id like 'stripe-event-%'"),
  };
}

/** Null when the answer is acceptable; otherwise what is wrong with it. */
function verdict({ request, reply }: Outcome, world: FuzzWorld): string | null {
  if (reply.status >= 500) return `a ${reply.status}`;
  if (/\n\s+at\s|node_modules|\.ts:\d+/.test(reply.text)) return 'a stack trace in the body';
  if (reply.text.includes(world.webhookSecret) || Object.values(world.keys).some((key) => reply.text.includes(key))) return 'a key or secret in the body';
  // A payment echoes the caller's own description back; an error body quotes nothing secret.
  if (reply.status >= 400 && /lk_(?:test|live)_[0-9A-Za-z]{8}|whsec_[0-9A-Za-z+/=]{8}/.test(reply.text)) return 'a key or secret in an error body';
  // Platform accounts (stripe_balance) span every merchant by nature; only admin keys read them.
  const platformRead = /^\/v1\/ledger\/accounts\/(?!merchant_payable)/.test(request.path);
  if (reply.status < 400 && !platformRead) {
    // The caller is the other merchant only with its own key; either way, never the rival's data.
    const asOther = request.headers.authorization === `Bearer ${world.otherKey}`;
    const rival = asOther ? { merchant: world.merchantId, ids: world.paymentIds } : { merchant: world.otherMerchantId, ids: world.otherPaymentIds };
    if (reply.text.includes(rival.merchant) || rival.ids.some((id) => reply.text.includes(id))) return "another merchant's data in the body";
  }
  if (reply.status >= 400) {
    if (!String(reply.headers['content-type']).startsWith('application/problem+json')) return `content-type ${reply.headers['content-type']}`;
    if (request.method === 'HEAD') return null;
    const problem = reply.json as { code?: string; status?: number; type?: string } | undefined;
    if (!problem || typeof problem.code !== 'string' || !CODES.has(problem.code)) return `no known code: ${reply.text.slice(0, 200)}`;
    if (problem.status !== reply.status || PROBLEM_STATUS[problem.code as keyof typeof PROBLEM_STATUS] !== reply.status) return 'status and code disagree';
    if (problem.type !== `urn:payment-ledger:problem:${problem.code}`) return `type ${problem.type}`;
    return null;
  }
  return successVerdict(request, reply, world);
}

/** A 2xx must be a route, method and key that may succeed. */
function successVerdict(request: FuzzRequest, reply: Reply, world: FuzzWorld): string | null {
  // Node trims header values, as any server does: `Bearer <key> ` is the key.
  const bearer = request.headers.authorization?.trim();
  const holds = (...names: (keyof FuzzWorld['keys'])[]) => names.some((name) => bearer === `Bearer ${world.keys[name]}`);
  const route = request.path.split('?')[0]!;
  if (request.api === 'write') {
    if (request.method !== 'POST' || reply.status !== 202) return `${request.method} answered ${reply.status}`;
    if (route === '/v1/webhooks/stripe') return 'a corrupted webhook was accepted';
    if (!holds('writer', 'all')) return 'a command succeeded without payments:write';
    return null;
  }
  if (!['GET', 'HEAD'].includes(request.method) || reply.status !== 200) return `${request.method} answered ${reply.status}`;
  if (/^\/v1\/ledger\/accounts\/(?!merchant_payable)/.test(route)) return holds('admin', 'all') ? null : 'a platform account was read without admin';
  // The other merchant's key holds payments:read and audit:read, over its own data only.
  const otherKey = bearer === `Bearer ${world.otherKey}`;
  if (/\/events$/.test(route)) return holds('auditor', 'all') || otherKey ? null : 'the stream was read without audit:read';
  return holds('reader', 'all') || otherKey ? null : 'a read succeeded without payments:read';
}

function describeFailure({ request, idempotencyKey, reply }: Outcome, failure: string): string {
  const body = request.body ? `${request.body.length} bytes: ${request.body.subarray(0, 200).toString('latin1')}` : '(none)';
  return [
    `${failure} for ${request.api} ${request.method} ${request.path.slice(0, 300)} (${request.note})`,
    `  headers: ${JSON.stringify({ ...request.headers, 'idempotency-key': idempotencyKey }).slice(0, 600)}`,
    `  body: ${body}`,
    `  answer: ${reply.status} ${String(reply.headers['content-type'])} ${reply.text.slice(0, 400)}`,
  ].join('\n');
}

async function runLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  // Every worker finishes before a failure is reported, so that none is left talking to a closed pool.
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return results;
}
