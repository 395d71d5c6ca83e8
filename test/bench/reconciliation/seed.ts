import type { Pool } from 'pg';
import type { EventMetadata, EventStore, NewEvent } from '../../../ports/event-store';
import type { PaymentCommand } from '../../../domain/payment.commands';
import { decide } from '../../../domain/payment.decide';
import { evolve, initialState, type PaymentState } from '../../../domain/payment.state';
import { childIdFor, eventIdFor, paymentIdFor, paymentStreamId, requestHash } from '../../../commands/ids';
import { jobId, type SagaJob } from '../../../processes/jobs';
import { processorCaptureId } from '../../../processes/stripe-facts';
import type { ReconciliationWindow } from '../../../processes/reconciliation';
import { stripeFee } from '../../../infra/stripe-sandbox';
import { mulberry32 } from '../../../infra/stripe-sandbox/faults';
import { newId } from '../../../infra/stripe-sandbox/ids';
import type { BalanceTransaction, Charge, PaymentIntent, Refund, StripeObject } from '../../../infra/stripe-sandbox/objects';

/**
 * What a clean day of the saga leaves behind, written straight to the stores: running 100,000
 * payments through the write API, the saga and the sandbox would take far longer than the run being
 * measured. Each payment's events are decided by the payment decider from the commands and facts
 * the write API and the saga would give it, and its Stripe objects are built field for field as the
 * sandbox builds them (ids, amounts, fees, `metadata.payment_id`, balance transactions), so a
 * reconciliation of the window finds every movement on both sides.
 */

const MERCHANT = 'bench-reconciliation';

interface SeededPayment {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
  /** In the order the sandbox would have inserted them. */
  readonly objects: readonly StripeObject[];
}

export interface SeedExpectations {
  readonly payments: number;
  readonly events: number;
  readonly balanceTransactions: number;
  /** Charges and refunds: one group each on Stripe's side, one movement each on the ledger's. */
  readonly groups: number;
  /** Sum of the balance transactions' `net`, per currency. */
  readonly netByCurrency: Readonly<Record<string, number>>;
}

/** The mix of one payment: how it was captured and refunded. */
interface Shape {
  readonly amount: number;
  readonly currency: string;
  readonly captureMethod: 'automatic' | 'manual';
  readonly captured: number;
  readonly refunds: readonly number[];
  /** Unix seconds of the create. */
  readonly at: number;
}

const MANUAL_CAPTURE_AFTER_S = 600;
const REFUND_AFTER_S = 3600;
/** The last payment's refunds still fall inside the window. */
const TAIL_S = 2 * REFUND_AFTER_S + 60;

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

/**
 * A seeded mix: 80% automatic captures, 20% manual ones (half of them partial, which Stripe books
 * as two balance transactions), and a quarter of all payments refunded, some fully, some in two
 * partial refunds. One currency in ten is eur.
 */
function shapeOf(index: number, count: number, window: ReconciliationWindow, random: () => number): Shape {
  const from = Date.parse(window.from) / 1000;
  const span = (Date.parse(window.to) - Date.parse(window.from)) / 1000 - TAIL_S;
  const amount = 500 + Math.floor(random() * 99_500);
  const manual = random() < 0.2;
  const captured = manual && random() < 0.5 ? Math.floor(amount * 0.6) : amount;
  const refundRoll = random();
  const refunds = refundRoll < 0.15 ? [captured] : refundRoll < 0.25 ? [Math.floor(captured / 3), captured - Math.floor(captured / 3)] : [];
  return {
    amount,
    currency: random() < 0.1 ? 'eur' : 'usd',
    captureMethod: manual ? 'manual' : 'automatic',
    captured,
    refunds,
    at: from + Math.floor((index * span) / count),
  };
}

function seededPayment(index: number, shape: Shape): SeededPayment {
  const paymentId = paymentIdFor(MERCHANT, `order-${index}`);
  const stream = new StreamBuilder(paymentStreamId(paymentId));
  const stripe = new StripeBuilder(paymentId, shape);
  request(stream, index, paymentId, shape);
  capture(stream, stripe, index, paymentId, shape);
  shape.refunds.forEach((amount, n) => refund(stream, stripe, `refund-${index}-${n}`, paymentId, amount, shape.at + REFUND_AFTER_S * (n + 1)));
  return { streamId: stream.streamId, events: stream.events, objects: stripe.objects() };
}

/** The create, as the write API decides it. */
function request(stream: StreamBuilder, index: number, paymentId: string, shape: Shape): void {
  const body = { amount: shape.amount, currency: shape.currency, customer_id: `cus_${index}`, payment_method: 'pm_card_visa', capture_method: shape.captureMethod };
  const hash = requestHash('create_payment', body);
  stream.decide(
    {
      type: 'RequestPayment',
      paymentId,
      merchantId: MERCHANT,
      customerId: body.customer_id,
      amount: shape.amount,
      currency: shape.currency,
      paymentMethod: body.payment_method,
      captureMethod: shape.captureMethod,
      description: null,
      metadata: {},
      requestHash: hash,
      now: iso(shape.at),
    },
    clientMetadata(`order-${index}`, 'create_payment', hash),
  );
}

/**
 * The authorization and the capture as the saga records them: an automatic capture in one go from
 * the confirmed intent; a manual one authorized first, then captured on the client's request.
 */
function capture(stream: StreamBuilder, stripe: StripeBuilder, index: number, paymentId: string, shape: Shape): void {
  const intent = stripe.authorize();
  const authorization = {
    type: 'RecordAuthorization',
    processorPaymentId: intent.id,
    amountAuthorized: shape.amount,
    authorizedAt: iso(intent.created),
    captureBefore: null,
  } as const;
  let captureId = processorCaptureId(intent.id);
  let job: SagaJob = { name: 'authorize', paymentId };
  let capturedAt = shape.at;
  if (shape.captureMethod === 'manual') {
    stream.decide(authorization, sagaMetadata(job));
    const captureKey = `capture-${index}`;
    captureId = childIdFor(paymentId, 'capture', captureKey);
    capturedAt = shape.at + MANUAL_CAPTURE_AFTER_S;
    const hash = requestHash('capture_payment', { amount: shape.captured });
    stream.decide({ type: 'CapturePayment', captureId, amount: shape.captured, now: iso(capturedAt) }, clientMetadata(captureKey, 'capture_payment', hash));
    job = { name: 'capture', paymentId, captureId };
  }
  const txn = stripe.capture(capturedAt);
  // The saga records an intent's whole state at once: the authorization (a no-op when held) and the capture.
  stream.decideAll(
    [
      authorization,
      {
        type: 'RecordCapture',
        captureId,
        processorPaymentId: intent.id,
        amountCaptured: shape.captured,
        fee: txn.fee,
        net: shape.captured - txn.fee,
        processorChargeId: txn.source,
        balanceTransactionId: txn.id,
        capturedAt: iso(txn.created),
      },
    ],
    sagaMetadata(job),
  );
}

/** A refund the client asked for and the saga recorded. */
function refund(stream: StreamBuilder, stripe: StripeBuilder, refundKey: string, paymentId: string, amount: number, at: number): void {
  const refundId = childIdFor(paymentId, 'refund', refundKey);
  const hash = requestHash('refund_payment', { amount });
  stream.decide({ type: 'RefundPayment', refundId, amount, reason: null, now: iso(at) }, clientMetadata(refundKey, 'refund_payment', hash));
  const made = stripe.refund(refundId, amount, at);
  // The refund's metadata carries the ledger's refund id, which is the id the saga records it under.
  stream.decide(
    { type: 'RecordRefund', refundId, amount, processorRefundId: made.id, balanceTransactionId: made.balance_transaction, refundedAt: iso(made.created) },
    sagaMetadata({ name: 'refund', paymentId, refundId }),
  );
}

function clientMetadata(idempotencyKey: string, command: string, hash: string): EventMetadata {
  const correlation = `corr-${idempotencyKey}`;
  return { correlation_id: correlation, causation_id: correlation, actor: 'key_bench', source: 'write-api', idempotency_key: idempotencyKey, request_hash: hash, command };
}

function sagaMetadata(job: SagaJob): EventMetadata {
  return { correlation_id: `corr-${jobId(job)}`, causation_id: jobId(job), actor: 'payment-saga', source: 'stripe' };
}

/** Decides each command against the state the stream has so far; a rejection is a bug in the seed. */
class StreamBuilder {
  readonly events: NewEvent[] = [];
  private state: PaymentState = initialState();

  constructor(readonly streamId: string) {}

  decide(command: PaymentCommand, metadata: EventMetadata): void {
    this.decideAll([command], metadata);
  }

  decideAll(commands: readonly PaymentCommand[], metadata: EventMetadata): void {
    for (const command of commands) {
      const decision = decide(command, this.state);
      if ('rejected' in decision) throw new Error(`seed: ${command.type} on ${this.streamId} rejected: ${decision.rejected} (${decision.detail})`);
      for (const event of decision.events) {
        const content = { type: event.type, data: event.data as unknown as Record<string, unknown>, metadata };
        this.events.push({ ...content, id: eventIdFor(this.streamId, this.events.length, content) });
        this.state = evolve(this.state, event);
      }
    }
  }
}

/** The sandbox's objects for one payment, in their final state, as infra/stripe-sandbox makes them. */
class StripeBuilder {
  private intent!: PaymentIntent;
  private charge!: Charge;
  private readonly created: StripeObject[] = [];

  constructor(
    private readonly paymentId: string,
    private readonly shape: Shape,
  ) {}

  authorize(): PaymentIntent {
    const id = newId('pi');
    this.intent = {
      id,
      object: 'payment_intent',
      amount: this.shape.amount,
      amount_capturable: 0,
      amount_received: this.shape.captured,
      currency: this.shape.currency,
      status: 'succeeded',
      capture_method: this.shape.captureMethod,
      confirmation_method: 'automatic',
      payment_method: 'pm_card_visa',
      payment_method_types: ['card'],
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
      latest_charge: null,
      last_payment_error: null,
      next_action: null,
      canceled_at: null,
      cancellation_reason: null,
      client_secret: `${id}_secret_${newId('x').slice(2)}`,
      description: null,
      metadata: { payment_id: this.paymentId, merchant_id: MERCHANT },
      created: this.shape.at,
      livemode: false,
    };
    this.charge = {
      id: newId('ch'),
      object: 'charge',
      amount: this.shape.amount,
      amount_captured: 0,
      amount_refunded: 0,
      captured: false,
      refunded: false,
      paid: true,
      status: 'succeeded',
      currency: this.shape.currency,
      balance_transaction: null,
      payment_intent: id,
      payment_method: 'pm_card_visa',
      failure_code: null,
      failure_message: null,
      outcome: { network_status: 'approved_by_network', reason: null, type: 'authorized', seller_message: 'Payment complete.' },
      metadata: { ...this.intent.metadata },
      created: this.shape.at,
      livemode: false,
    };
    this.intent.latest_charge = this.charge.id;
    this.created.push(this.intent, this.charge);
    return this.intent;
  }

  /** The charge's transaction for the whole authorization and, for a partial capture, the release of the rest. */
  capture(at: number): BalanceTransaction {
    const main = this.transaction(at, this.shape.amount, stripeFee(this.shape.captured), 'charge', 'charge', this.charge.id, null);
    const released = this.shape.amount - this.shape.captured;
    if (released > 0) this.transaction(at, -released, 0, 'refund', 'partial_capture_reversal', this.charge.id, 'REFUND FOR CHARGE (Partial capture reversal)');
    this.charge = { ...this.charge, captured: true, amount_captured: this.shape.captured, balance_transaction: main.id };
    return main;
  }

  refund(refundId: string, amount: number, at: number): Refund {
    const id = newId('re');
    const txn = this.transaction(at, -amount, 0, 'refund', 'refund', id, 'REFUND FOR CHARGE');
    const refund: Refund = {
      id,
      object: 'refund',
      amount,
      charge: this.charge.id,
      payment_intent: this.intent.id,
      currency: this.shape.currency,
      status: 'succeeded',
      reason: null,
      balance_transaction: txn.id,
      metadata: { payment_id: this.paymentId, refund_id: refundId },
      created: at,
    };
    this.created.push(refund);
    const refunded = this.charge.amount_refunded + amount;
    this.charge = { ...this.charge, amount_refunded: refunded, refunded: refunded === this.charge.amount_captured };
    return refund;
  }

  /** Every object, the intent and the charge as they stand at the end. */
  objects(): StripeObject[] {
    return this.created.map((o) => (o.id === this.intent.id ? this.intent : o.id === this.charge.id ? this.charge : o));
  }

  private transaction(
    at: number,
    amount: number,
    fee: number,
    type: BalanceTransaction['type'],
    category: BalanceTransaction['reporting_category'],
    source: string,
    description: string | null,
  ): BalanceTransaction {
    const txn: BalanceTransaction = {
      id: newId('txn'),
      object: 'balance_transaction',
      amount,
      fee,
      fee_details: fee === 0 ? [] : [{ amount: fee, application: null, currency: this.shape.currency, description: 'Stripe processing fees', type: 'stripe_fee' }],
      net: amount - fee,
      currency: this.shape.currency,
      type,
      reporting_category: category,
      source,
      status: 'available',
      available_on: at,
      created: at,
      description,
      exchange_rate: null,
    };
    this.created.push(txn);
    return txn;
  }
}

export interface SeedOptions {
  readonly payments: number;
  readonly window: ReconciliationWindow;
  readonly seed: number;
  /** Appends in flight at once. */
  readonly concurrency: number;
}

/**
 * Makes and writes the payments one at a time as `concurrency` writers ask for them, so that the
 * making overlaps the writing and no more than a few thousand payments are ever held. Each stream
 * is one append (the saga would have made three to six: the events and their order are the same,
 * only their grouping into transactions differs). The Stripe objects go to the sandbox's table in
 * creation order, so that its `seq` agrees with `created` as it would.
 */
export async function seedWindow(pool: Pool, store: EventStore, options: SeedOptions): Promise<SeedExpectations> {
  const random = mulberry32(options.seed);
  const tally = new Tally();
  const stripeObjects = new CreationOrderedInserts(pool);
  let next = 0;
  const writer = async () => {
    while (next < options.payments) {
      const index = next++;
      const shape = shapeOf(index, options.payments, options.window, random);
      const payment = seededPayment(index, shape);
      tally.add(payment);
      // Payments come in order of creation, so nothing made later is created before this one.
      stripeObjects.add(payment.objects, shape.at);
      await store.append(payment.streamId, payment.events, 'no_stream');
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, writer));
  await stripeObjects.finish();
  return tally.expectations(options.payments);
}

class Tally {
  private events = 0;
  private balanceTransactions = 0;
  private readonly sources = new Set<string>();
  private readonly netByCurrency: Record<string, number> = {};

  add(payment: SeededPayment): void {
    this.events += payment.events.length;
    for (const object of payment.objects) {
      if (object.object !== 'balance_transaction') continue;
      const txn = object as BalanceTransaction;
      this.balanceTransactions += 1;
      this.sources.add(txn.source);
      this.netByCurrency[txn.currency] = (this.netByCurrency[txn.currency] ?? 0) + txn.net;
    }
  }

  expectations(payments: number): SeedExpectations {
    return { payments, events: this.events, balanceTransactions: this.balanceTransactions, groups: this.sources.size, netByCurrency: this.netByCurrency };
  }
}

const INSERT_BATCH = 2000;

/**
 * Inserts Stripe objects in order of `created`, a batch at a time, one insert after the other. An
 * object is held until nothing created before it can still be added.
 */
class CreationOrderedInserts {
  private held: StripeObject[] = [];
  /** Objects added since the held ones were last sorted: a sort for every batch, not for every payment. */
  private added = 0;
  private inserting: Promise<void> = Promise.resolve();

  constructor(private readonly pool: Pool) {}

  /** `objects` of a payment created at `horizon`: every later payment's objects are created at or after it. */
  add(objects: readonly StripeObject[], horizon: number): void {
    this.held.push(...objects);
    this.added += objects.length;
    if (this.added < INSERT_BATCH) return;
    this.added = 0;
    this.held.sort((a, b) => a.created - b.created);
    const ready = this.held.findIndex((o) => o.created >= horizon);
    const cut = ready < 0 ? this.held.length : ready;
    const batch = this.held.slice(0, cut);
    this.held = this.held.slice(cut);
    this.enqueue(batch);
  }

  async finish(): Promise<void> {
    this.held.sort((a, b) => a.created - b.created);
    for (let start = 0; start < this.held.length; start += INSERT_BATCH) this.enqueue(this.held.slice(start, start + INSERT_BATCH));
    this.held = [];
    await this.inserting;
  }

  private enqueue(batch: readonly StripeObject[]): void {
    if (batch.length === 0) return;
    const inserted = this.inserting.then(() => insertObjects(this.pool, batch));
    // Awaited in finish(); until then a failed insert must not count as an unhandled rejection.
    inserted.catch(() => undefined);
    this.inserting = inserted;
  }
}

async function insertObjects(pool: Pool, batch: readonly StripeObject[]): Promise<void> {
  await pool.query(
    `insert into stripe_sandbox.objects (id, object, created, data)
     select r.id, r.object, r.created, r.data
       from unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[]) with ordinality as r(id, object, created, data, n)
      order by r.n`,
    [batch.map((o) => o.id), batch.map((o) => o.object), batch.map((o) => o.created), batch.map((o) => JSON.stringify(o))],
  );
}
