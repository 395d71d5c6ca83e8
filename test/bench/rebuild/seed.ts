import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { paymentStreamId } from '../../../commands/ids';
import { eventHash, GENESIS_HASH } from '../../../infra/event-store/hash-chain';

/**
 * Writes payment streams straight into the Postgres event store's tables (migration
 * 001-event-store) with COPY: appending a million events one command at a time would take longer
 * than everything the benchmark measures. Each row is what `append` would have stored: the same
 * columns, `recorded_at` to the millisecond, and the stream's hash chain computed with the store's
 * own `eventHash`, so that `readAll` and the audit see ordinary streams.
 */

export interface SeedOptions {
  /** Stop once this many events are written (whole payment lives only, so a few more at most). */
  readonly events: number;
  readonly merchants: number;
  /** Events per transaction: each gets its own transaction id, as appends do. */
  readonly eventsPerTransaction: number;
  /** Transactions being written at once. */
  readonly concurrency: number;
}

export interface Seeded {
  readonly events: number;
  readonly payments: number;
  readonly lives: Readonly<Record<LifeKind, number>>;
}

/**
 * How a payment's life ends: most are captured at once and refunded in part later, some are
 * captured by hand for less than was authorized, some are declined and some canceled.
 */
export type LifeKind = 'refunded' | 'captured_by_hand' | 'declined' | 'canceled';

const KINDS_BY_N: readonly LifeKind[] = ['declined', 'canceled', 'captured_by_hand', 'captured_by_hand', 'refunded', 'refunded', 'refunded', 'refunded', 'refunded', 'refunded'];
const EVENTS_PER_LIFE: Readonly<Record<LifeKind, number>> = { refunded: 5, captured_by_hand: 4, declined: 2, canceled: 4 };

/**
 * When, in payment arrivals after its request, each later event of a life happens. The hold is
 * decided at once; a capture by hand or a cancel comes a few hundred payments later and a refund a
 * few thousand later, so a payment's events are spread over several of the rebuild's batches, as
 * in a store written by live traffic.
 */
const AUTHORIZED_AFTER = 1;
const CAPTURED_BY_HAND_AFTER = 300;
const CANCELED_AFTER = 200;
const REFUNDED_AFTER = 3000;
/** Payments arrive every 10 ms of event time. */
const ARRIVAL_MS = 10;
const EPOCH = Date.UTC(2026, 0, 1);
const CURRENCIES = ['usd', 'eur', 'jpy'] as const;

interface LifeEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** Payment arrivals after the request. */
  readonly after: number;
}

interface Payment {
  readonly kind: LifeKind;
  readonly streamId: string;
  readonly paymentId: string;
}

export async function seedPaymentLives(pool: Pool, options: SeedOptions): Promise<Seeded> {
  const payments = plannedPayments(options.events);
  // Every stream's row first, in a transaction of its own: an event's stream must exist (a
  // foreign key) even when the transaction that would have made it is still being written.
  const client = await pool.connect();
  try {
    await copyLines(client, 'copy streams (stream_id, revision) from stdin', payments.map((p) => `${p.streamId}\t${EVENTS_PER_LIFE[p.kind] - 1}\n`));
  } finally {
    client.release();
  }
  await writeInOrder(pool, transactions(payments, options), options.concurrency);
  // Autovacuum would get there in time; the rebuild should not pay for setting hint bits.
  await pool.query('vacuum (analyze) streams, events');
  const lives: Record<LifeKind, number> = { refunded: 0, captured_by_hand: 0, declined: 0, canceled: 0 };
  for (const payment of payments) lives[payment.kind] += 1;
  return { events: payments.reduce((sum, p) => sum + EVENTS_PER_LIFE[p.kind], 0), payments: payments.length, lives };
}

/** Enough payments for `events` events, the kind of each going round KINDS_BY_N. */
function plannedPayments(events: number): Payment[] {
  const payments: Payment[] = [];
  for (let planned = 0; planned < events; ) {
    const kind = KINDS_BY_N[payments.length % KINDS_BY_N.length]!;
    const paymentId = randomUUID();
    payments.push({ kind, paymentId, streamId: paymentStreamId(paymentId) });
    planned += EVENTS_PER_LIFE[kind];
  }
  return payments;
}

/**
 * The events of one payment after another, in the order of the time they happen, cut into
 * transactions. An event `after` arrivals after its payment's request waits in the bucket of that
 * arrival until every payment arriving by then has been made.
 */
function* transactions(payments: readonly Payment[], options: SeedOptions): Generator<string[]> {
  const buckets = new Map<number, string[]>();
  let current: string[] = [];
  function* emit(slot: number) {
    for (const line of buckets.get(slot) ?? []) {
      current.push(line);
      if (current.length === options.eventsPerTransaction) {
        yield current;
        current = [];
      }
    }
    buckets.delete(slot);
  }
  for (const [n, { kind, paymentId, streamId }] of payments.entries()) {
    const events = life(kind, paymentId, `acct_bench_${Math.floor(n / KINDS_BY_N.length) % options.merchants}`, n);
    for (const { slot, line } of eventLines(streamId, n, events)) {
      const bucket = buckets.get(slot) ?? [];
      bucket.push(line);
      buckets.set(slot, bucket);
    }
    yield* emit(n);
  }
  for (const slot of [...buckets.keys()].sort((a, b) => a - b)) yield* emit(slot);
  if (current.length > 0) yield current;
}

/**
 * Writes the transactions `concurrency` at a time, keeping their order: readAll orders by
 * transaction id, and each transaction takes its id here, in turn, before the next one begins.
 */
async function writeInOrder(pool: Pool, seedTransactions: Iterable<string[]>, concurrency: number): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  for (const transaction of seedTransactions) {
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure !== null) break;
    const client = await pool.connect();
    await client.query('begin; select pg_current_xact_id()');
    const writing: Promise<void> = copyAndCommit(client, transaction)
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        client.release();
        inFlight.delete(writing);
      });
    inFlight.add(writing);
  }
  await Promise.all(inFlight);
  if (failure !== null) throw failure;
}

async function copyAndCommit(client: PoolClient, events: readonly string[]): Promise<void> {
  try {
    await copyLines(client, 'copy events (stream_id, revision, event_id, type, data, metadata, recorded_at, prev_hash, hash) from stdin', events);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** The COPY line of each event, with the arrival it happens at, chained as `append` chains them. */
function eventLines(streamId: string, n: number, events: readonly LifeEvent[]): { slot: number; line: string }[] {
  const correlationId = randomUUID();
  let prevHash = GENESIS_HASH;
  return events.map((event, revision) => {
    const slot = n + event.after;
    const recordedAt = new Date(EPOCH + slot * ARRIVAL_MS);
    const id = randomUUID();
    const metadata = { correlation_id: correlationId, causation_id: correlationId, actor: 'bench', source: 'bench', idempotency_key: `key-${n}` };
    const hash = eventHash(prevHash, { streamId, revision, id, type: event.type, data: event.data, metadata, recordedAt });
    const line = [streamId, revision, id, event.type, copyText(JSON.stringify(event.data)), copyText(JSON.stringify(metadata)), recordedAt.toISOString(), prevHash, hash];
    prevHash = hash;
    return { slot, line: `${line.join('\t')}\n` };
  });
}

/** The events of payment `n`, with amounts and ids that vary with `n` like those of the projection tests. */
function life(kind: LifeKind, paymentId: string, merchantId: string, n: number): LifeEvent[] {
  const at = (after: number) => new Date(EPOCH + (n + after) * ARRIVAL_MS).toISOString();
  const amount = 1000 + (n % 5000);
  const manual = kind !== 'refunded';
  const requested: LifeEvent = {
    type: 'PaymentRequested',
    after: 0,
    data: {
      payment_id: paymentId, merchant_id: merchantId, customer_id: `cus_${n % 5000}`, amount, currency: CURRENCIES[n % CURRENCIES.length],
      payment_method: 'pm_card_visa', capture_method: manual ? 'manual' : 'automatic', description: `order ${n}`, metadata: { order: String(n) },
      request_hash: 'bench', requested_at: at(0),
    },
  };
  if (kind === 'declined') {
    return [
      requested,
      {
        type: 'PaymentFailed',
        after: AUTHORIZED_AFTER,
        data: { stage: 'authorization', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.', failed_at: at(AUTHORIZED_AFTER) },
      },
    ];
  }
  const authorized: LifeEvent = {
    type: 'PaymentAuthorized',
    after: AUTHORIZED_AFTER,
    data: { processor_payment_id: `pi_${n}`, amount_authorized: amount, authorized_at: at(AUTHORIZED_AFTER), capture_before: null },
  };
  const captured = (amountCaptured: number, after: number): LifeEvent => {
    const fee = Math.floor((amountCaptured * 29) / 1000) + 30;
    return {
      type: 'PaymentCaptured',
      after,
      data: {
        capture_id: `cap_${n}`, amount_captured: amountCaptured, fee, net: amountCaptured - fee, processor_charge_id: `ch_${n}`,
        balance_transaction_id: `txn_${n}`, captured_at: at(after),
      },
    };
  };
  switch (kind) {
    case 'canceled':
      return [
        requested,
        authorized,
        { type: 'PaymentCancelRequested', after: CANCELED_AFTER, data: { reason: 'requested_by_customer', requested_at: at(CANCELED_AFTER) } },
        { type: 'PaymentCanceled', after: CANCELED_AFTER + 1, data: { reason: 'requested_by_customer', canceled_at: at(CANCELED_AFTER + 1) } },
      ];
    case 'captured_by_hand': {
      const amountCaptured = amount - (n % 11);
      return [
        requested,
        authorized,
        { type: 'PaymentCaptureRequested', after: CAPTURED_BY_HAND_AFTER, data: { capture_id: `cap_${n}`, amount: amountCaptured, requested_at: at(CAPTURED_BY_HAND_AFTER) } },
        captured(amountCaptured, CAPTURED_BY_HAND_AFTER + 1),
      ];
    }
    case 'refunded': {
      const refund = 1 + (n % 100);
      return [
        requested,
        authorized,
        captured(amount - (n % 7), AUTHORIZED_AFTER + 1),
        { type: 'RefundRequested', after: REFUNDED_AFTER, data: { refund_id: `ref_${n}`, amount: refund, reason: null, requested_at: at(REFUNDED_AFTER) } },
        {
          type: 'PaymentRefunded',
          after: REFUNDED_AFTER + 1,
          data: { refund_id: `ref_${n}`, amount: refund, processor_refund_id: `re_${n}`, balance_transaction_id: `txn_re_${n}`, refunded_at: at(REFUNDED_AFTER + 1) },
        },
      ];
    }
  }
}

const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format, where a backslash starts an escape and tabs and newlines separate. */
function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!);
}

/** Streams lines of COPY text into `sql` (a `copy ... from stdin`), a thousand lines per chunk. */
async function copyLines(client: PoolClient, sql: string, lines: readonly string[]): Promise<void> {
  function* chunks() {
    for (let i = 0; i < lines.length; i += 1000) yield lines.slice(i, i + 1000).join('');
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(sql)));
}
