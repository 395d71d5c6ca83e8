import type { Pool } from 'pg';
import { toPaymentEvent } from '../../commands/payment-stream';
import { evolve, initialState, isPayment } from '../../domain/payment.state';
import type { Payment, PaymentState } from '../../domain/payment.state';
import { paymentRepresentation } from '../../write-api/representation';
import { toRepresentation } from '../../read-api/payments.queries';
import { processorCounts } from '../support/saga';
import type { FlowResult, JournalEntry } from './driver';
import { expectedOutcome } from './flows';

/** One invariant's verdict: ok null means it could not be checked here (and says why). */
export interface Check {
  readonly name: string;
  readonly ok: boolean | null;
  readonly detail: string;
  /** A few offending ids, to start looking from. */
  readonly examples?: readonly string[];
}

const TERMINAL = new Set(['captured', 'partially_refunded', 'refunded', 'failed', 'canceled']);

export interface StoredPayment {
  readonly state: Payment;
  readonly revision: number;
  readonly position: { commit: bigint; prepare: bigint };
  /** Idempotency keys of the client calls recorded in the stream. */
  readonly keys: ReadonlySet<string>;
  readonly refundIds: ReadonlySet<string>;
}

/** Every payment stream folded, straight from the event store. */
export async function foldStreams(pool: Pool): Promise<Map<string, StoredPayment>> {
  const { rows } = await pool.query<{
    stream_id: string;
    revision: string;
    type: string;
    data: Record<string, unknown>;
    metadata: Record<string, unknown>;
    transaction_id: string;
    global_position: string;
  }>(
    `select stream_id, revision::text, type, data, metadata, transaction_id::text, global_position::text
       from events where stream_id like 'payment-%' order by stream_id, revision`,
  );
  const folded = new Map<string, StoredPayment>();
  type Folding = { id: string; state: PaymentState; keys: Set<string>; refundIds: Set<string>; revision: number; position: StoredPayment['position'] };
  let current = null as Folding | null;
  const flush = () => {
    if (current && isPayment(current.state)) {
      folded.set(current.id, { state: current.state, revision: current.revision, position: current.position, keys: current.keys, refundIds: current.refundIds });
    }
  };
  for (const row of rows) {
    const id = row.stream_id.slice('payment-'.length);
    if (current?.id !== id) {
      flush();
      current = { id, state: initialState(), keys: new Set(), refundIds: new Set(), revision: -1, position: { commit: 0n, prepare: 0n } };
    }
    current.state = evolve(current.state, toPaymentEvent({ type: row.type, data: row.data } as never));
    current.revision = Number(row.revision);
    current.position = { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) };
    if (typeof row.metadata.idempotency_key === 'string') current.keys.add(row.metadata.idempotency_key);
    if (row.type === 'RefundRequested') current.refundIds.add(String(row.data.refund_id));
  }
  flush();
  return folded;
}

const examples = (ids: readonly string[]) => ids.slice(0, 5);
const check = (name: string, failures: readonly string[], passDetail: string, failDetail: (n: number) => string): Check =>
  failures.length === 0 ? { name, ok: true, detail: passDetail } : { name, ok: false, detail: failDetail(failures.length), examples: examples(failures) };

/** Every request that got a 2xx has its stream and its event; no stream and no client event without a request. */
export function requestsMatchStreams(journal: readonly JournalEntry[], streams: ReadonlyMap<string, StoredPayment>): Check[] {
  const sent = new Set(journal.filter((e) => e.kind === 'create').map((e) => e.paymentId));
  const sentKeys = new Map<string, Set<string>>();
  for (const e of journal) sentKeys.set(e.paymentId, (sentKeys.get(e.paymentId) ?? new Set()).add(e.key));
  const created = new Set(journal.filter((e) => e.kind === 'create' && e.status === 202).map((e) => e.paymentId));
  const missing = [...created].filter((id) => !streams.has(id));
  const orphans = [...streams.keys()].filter((id) => !sent.has(id));
  const strangeKeys: string[] = [];
  for (const [id, stored] of streams) for (const key of stored.keys) if (!sentKeys.get(id)?.has(key)) strangeKeys.push(`${id} ${key}`);

  const lostCommands: string[] = [];
  const partialWrites: string[] = [];
  for (const e of journal) {
    if (e.kind === 'create' || e.kind === 'replay' || e.kind === 'reuse' || e.status === null) continue;
    const stored = streams.get(e.paymentId);
    const recorded = stored?.keys.has(e.key) ?? false;
    if (e.status >= 200 && e.status < 300) {
      const refundKnown = e.kind !== 'refund' || (e.answer.id !== undefined && (stored?.refundIds.has(e.answer.id) ?? false));
      // A call that decides to nothing (a cancel of a payment that already failed) is accepted and appends nothing.
      const noOp = !recorded && e.kind === 'cancel' && ['failed', 'canceled'].includes(e.answer.status ?? '');
      if ((!recorded && !noOp) || !refundKnown) lostCommands.push(`${e.kind} ${e.key}`);
    } else if (recorded) {
      partialWrites.push(`${e.kind} ${e.key} -> ${e.status}`);
    }
  }
  const unanswered = journal.filter((e) => e.status === null).map((e) => `${e.kind} ${e.key}`);
  return [
    check('every 2xx create has its stream', missing, `${created.size} payments accepted, ${created.size} streams`, (n) => `${n} accepted creates have no stream`),
    check('no stream without a request', orphans, `${streams.size} streams, each from a sent create`, (n) => `${n} streams nobody asked for`),
    check(
      'every 2xx command has its event',
      [...lostCommands, ...strangeKeys],
      'captures, cancels and refunds accepted are all in their streams; no event carries a key never sent',
      (n) => `${n} accepted commands without their event, or events with a key never sent`,
    ),
    check('no rejected request wrote anything', partialWrites, 'no 4xx left an event behind', (n) => `${n} rejected requests left events`),
    check('every request got a definitive answer', unanswered, 'the client got an answer to every request (retrying on 5xx, 429, resets)', (n) => `${n} requests never got an answer`),
  ];
}

/** Duplicates, replays and reused keys answered as DESIGN section 5 says. */
export function idempotencyHeld(journal: readonly JournalEntry[]): Check {
  const failures: string[] = [];
  const byKey = new Map<string, JournalEntry[]>();
  for (const e of journal) byKey.set(`${e.kind}:${e.key}`, [...(byKey.get(`${e.kind}:${e.key}`) ?? []), e]);
  for (const e of journal) {
    if (e.kind === 'create' && e.status === 202 && e.answer.id !== e.paymentId) failures.push(`create ${e.key}: id ${e.answer.id} != ${e.paymentId}`);
    if (e.kind === 'replay' && !(e.status === 202 && e.replayed && e.answer.id === e.paymentId)) failures.push(`replay ${e.key}: ${e.status} replayed=${e.replayed}`);
    if (e.kind === 'reuse' && !(e.status === 422 && e.answer.code === 'idempotency_key_reused')) failures.push(`reuse ${e.key}: ${e.status} ${e.answer.code}`);
  }
  for (const [key, entries] of byKey) {
    if (entries.length < 2 || key.startsWith('replay:') || key.startsWith('reuse:')) continue;
    const answers = new Set(entries.map((e) => `${e.status}/${e.answer.id}`));
    if (answers.size > 1) failures.push(`${key}: concurrent duplicates answered ${[...answers].join(', ')}`);
  }
  const duplicates = [...byKey.values()].filter((entries) => entries.length > 1).length;
  const replays = journal.filter((e) => e.kind === 'replay').length;
  const reuses = journal.filter((e) => e.kind === 'reuse').length;
  return check(
    'idempotency: duplicates, replays, reused keys',
    failures,
    `${duplicates} concurrent duplicate groups agreed, ${replays} replays replayed, ${reuses} reused keys refused (422)`,
    (n) => `${n} idempotency violations`,
  );
}

/** Every payment terminal, or stuck with the reason why. */
export async function paymentsSettled(pool: Pool, streams: ReadonlyMap<string, StoredPayment>): Promise<Check> {
  const stuck: string[] = [];
  const work = await pool.query<{ payment_id: string; job_id: string; dispatch_count: number }>('select payment_id::text, job_id, dispatch_count from saga_work');
  const open = new Map(work.rows.map((r) => [r.payment_id, `${r.job_id} open, dispatched ${r.dispatch_count} times`]));
  const byStatus = new Map<string, number>();
  for (const [id, { state }] of streams) {
    byStatus.set(state.status, (byStatus.get(state.status) ?? 0) + 1);
    if (TERMINAL.has(state.status)) continue;
    stuck.push(`${id} ${state.status}: ${open.get(id) ?? 'no open work'}`);
  }
  const statuses = [...byStatus].sort().map(([s, n]) => `${s} ${n}`).join(', ');
  return check('every payment terminal (stuck = 0)', stuck, statuses, (n) => `${n} stuck: ${statuses}`);
}

/** The client's intent carried out: declines fail, cancels cancel, captures and refunds land with their amounts. */
export function flowsEndedAsAsked(results: readonly FlowResult[], journal: readonly JournalEntry[], streams: ReadonlyMap<string, StoredPayment>): Check {
  const rejected = new Set(journal.filter((e) => e.status !== null && e.status >= 400 && e.kind !== 'reuse').map((e) => e.flow));
  const failures: string[] = [];
  let compared = 0;
  for (const result of results) {
    const stored = streams.get(result.paymentId);
    if (!stored) continue;
    const { state } = stored;
    // A payment may only fail on a definitive decline: never on a fault, a kill or a timeout.
    if (state.status === 'failed' && result.plan.kind !== 'decline') failures.push(`${result.paymentId} (${result.plan.kind}) failed: ${state.failure?.code}`);
    if (result.gaveUp !== null || rejected.has(result.plan.index)) continue;
    compared += 1;
    const expected = expectedOutcome(result.plan, result.refunded);
    const right =
      expected.statuses.includes(state.status) &&
      (expected.amountCaptured === null || state.amountCaptured === expected.amountCaptured) &&
      state.amountRefunded === result.refunded &&
      (result.plan.kind !== 'decline' || state.failure?.stage === 'authorization');
    if (!right) {
      failures.push(`${result.paymentId} (${result.plan.kind}): ${state.status} captured ${state.amountCaptured} refunded ${state.amountRefunded}; expected ${expected.statuses.join('|')} captured ${expected.amountCaptured} refunded ${result.refunded}`);
    }
  }
  return check(
    'every flow ended as the client asked',
    failures,
    `${compared} flows compared (${results.length - compared} gave up or were refused); no payment failed without a decline`,
    (n) => `${n} flows ended otherwise`,
  );
}

/** At the sandbox: one PaymentIntent per payment, a capture only for a captured payment, refunds as requested. */
export async function processorAgrees(pool: Pool, streams: ReadonlyMap<string, StoredPayment>): Promise<Check[]> {
  const counts = await processorCounts(pool);
  const amounts = await pool.query<{ payment_id: string; received: string; refunded: string }>(
    `select pi.data -> 'metadata' ->> 'payment_id' as payment_id,
            coalesce(sum((pi.data ->> 'amount_received')::bigint), 0)::text as received,
            coalesce((select sum((r.data ->> 'amount')::bigint) from stripe_sandbox.objects r
                       where r.object = 'refund' and r.data ->> 'status' = 'succeeded'
                         and r.data ->> 'payment_intent' = any(array_agg(pi.id))), 0)::text as refunded
       from stripe_sandbox.objects pi where pi.object = 'payment_intent' group by 1`,
  );
  const money = new Map(amounts.rows.map((r) => [r.payment_id, { received: Number(r.received), refunded: Number(r.refunded) }]));
  const intents: string[] = [];
  const captures: string[] = [];
  const refunds: string[] = [];
  for (const [id, { state }] of streams) {
    const at = counts.get(id) ?? { intents: 0, captures: 0, refunds: 0 };
    if (at.intents !== 1) intents.push(`${id}: ${at.intents} intents`);
    const captured = state.amountCaptured > 0 ? 1 : 0;
    const received = money.get(id)?.received ?? 0;
    if (at.captures !== captured || received !== state.amountCaptured) captures.push(`${id}: ${at.captures} captures of ${received}, ledger ${state.amountCaptured}`);
    const succeeded = state.refunds.filter((r) => r.status === 'succeeded');
    const requested = state.refunds.filter((r) => r.status !== 'failed').length;
    const refunded = money.get(id)?.refunded ?? 0;
    if (at.refunds !== succeeded.length || at.refunds !== requested || refunded !== state.amountRefunded) {
      refunds.push(`${id}: ${at.refunds} refunds of ${refunded} at Stripe, ${requested} requested, ${state.amountRefunded} in the ledger`);
    }
  }
  const strangers = [...counts.keys()].filter((id) => !streams.has(id));
  const totalIntents = [...counts.values()].reduce((n, c) => n + c.intents, 0);
  const totalCaptures = [...counts.values()].reduce((n, c) => n + c.captures, 0);
  const totalRefunds = [...counts.values()].reduce((n, c) => n + c.refunds, 0);
  return [
    check('Stripe: exactly one PaymentIntent per payment', [...intents, ...strangers.map((id) => `${id}: intent for no payment`)], `${totalIntents} intents for ${streams.size} payments`, (n) => `${n} payments without exactly one intent`),
    check('Stripe: at most one capture, as the ledger says', captures, `${totalCaptures} captures, each matching the ledger's amount`, (n) => `${n} payments captured otherwise at Stripe`),
    check('Stripe: refunds equal refund requests', refunds, `${totalRefunds} refunds, matching requests and amounts`, (n) => `${n} payments with other refunds at Stripe`),
  ];
}

/** Double entry: each entry balances, every currency sums to zero, no hold left, payables as the streams say. */
export async function ledgerBalances(pool: Pool, streams: ReadonlyMap<string, StoredPayment>): Promise<Check> {
  const failures: string[] = [];
  const bad = await pool.query<{ id: string }>('select id::text from ledger_entries where amount <= 0 or debit_account = credit_account');
  failures.push(...bad.rows.map((r) => `entry ${r.id} does not balance`));
  const sums = await pool.query<{ currency: string; pending: string; posted: string }>(
    `select currency, sum(debits_pending - credits_pending)::text as pending, sum(debits_posted - credits_posted)::text as posted
       from ledger_accounts group by currency order by currency`,
  );
  for (const row of sums.rows) if (row.pending !== '0' || row.posted !== '0') failures.push(`${row.currency} sums to pending ${row.pending}, posted ${row.posted}`);
  const held = await pool.query<{ payment_id: string; pending_amount: string }>('select payment_id, pending_amount::text from ledger_payments where pending_amount <> 0');
  failures.push(...held.rows.map((r) => `${r.payment_id} still holds ${r.pending_amount}`));
  const owed = new Map<string, number>();
  for (const { state } of streams.values()) {
    const account = `merchant_payable:${state.merchantId}|${state.currency}`;
    owed.set(account, (owed.get(account) ?? 0) + (state.net ?? 0) - state.amountRefunded);
  }
  const payables = await pool.query<{ account: string; currency: string; posted: string }>(
    `select account, currency, (credits_posted - debits_posted)::text as posted from ledger_accounts where account like 'merchant_payable:%'`,
  );
  for (const row of payables.rows) {
    const expected = owed.get(`${row.account}|${row.currency}`) ?? 0;
    if (Number(row.posted) !== expected) failures.push(`${row.account} ${row.currency} holds ${row.posted}, streams say ${expected}`);
  }
  const entries = await pool.query<{ n: number }>('select count(*)::int as n from ledger_entries');
  return check(
    'ledger: entries balance, currencies sum to zero',
    failures,
    `${entries.rows[0]!.n} entries; ${sums.rows.map((r) => r.currency).join(', ')} each sum to zero; no hold left; payables = sum(net - refunded)`,
    (n) => `${n} ledger violations`,
  );
}

/** The payments read model equals the fold of each stream, in the representation the APIs serve. */
export async function readModelEqualsFold(pool: Pool, streams: ReadonlyMap<string, StoredPayment>): Promise<Check> {
  const { rows } = await pool.query('select *, commit_position::text, prepare_position::text from payments');
  const failures: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const id = String(row.id);
    seen.add(id);
    const stored = streams.get(id);
    if (!stored) {
      failures.push(`${id}: a row without a stream`);
      continue;
    }
    const expected = JSON.stringify(paymentRepresentation(stored.state, stored.revision, stored.position));
    const actual = JSON.stringify(toRepresentation(row));
    if (expected !== actual) failures.push(`${id}: row ${actual} != fold ${expected}`);
  }
  for (const id of streams.keys()) if (!seen.has(id)) failures.push(`${id}: a stream without a row`);
  return check('read model = fold of the streams', failures, `${rows.length} rows equal their streams' fold`, (n) => `${n} rows differ from the fold`);
}

/** A digest of every read-model table, to compare the live models with a fresh rebuild. */
export async function readModelDigest(pool: Pool): Promise<Record<string, string>> {
  const tables: Record<string, string> = { payments: 'id', ledger_payments: 'payment_id', ledger_entries: 'id', ledger_accounts: 'account, currency' };
  const digest: Record<string, string> = {};
  for (const [table, order] of Object.entries(tables)) {
    const { rows } = await pool.query<{ md5: string; n: number }>(
      `select md5(coalesce(string_agg(to_jsonb(t)::text, E'\\n' order by ${order}), '')) as md5, count(*)::int as n from ${table} t`,
    );
    digest[table] = `${rows[0]!.n} rows ${rows[0]!.md5}`;
  }
  return digest;
}
