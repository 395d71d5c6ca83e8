import type { CaptureMethod, PaymentEvent } from './payment.events';
import { MAX_AMOUNT } from './money';

/**
 * The state of one payment, folded from its stream. Field names are camelCase (the events are
 * snake_case on the wire); amounts are integers in the currency's minor unit.
 */

export type PaymentStatus = 'requested' | 'authorized' | 'captured' | 'partially_refunded' | 'refunded' | 'failed' | 'canceled';

export interface PaymentFailure {
  readonly stage: 'authorization' | 'capture';
  readonly code: string;
  readonly declineCode: string | null;
  readonly message: string;
}

export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface Refund {
  readonly refundId: string;
  readonly amount: number;
  readonly reason: string | null;
  readonly status: RefundStatus;
  readonly processorRefundId: string | null;
  /** When the ledger was asked for it, or when Stripe made it for a refund made outside the ledger. */
  readonly requestedAt: string;
}

/** The capture a client asked for, before Stripe confirms it. */
export interface RequestedCapture {
  readonly captureId: string;
  readonly amount: number;
}

export interface Payment {
  readonly status: PaymentStatus;
  readonly paymentId: string;
  readonly merchantId: string;
  readonly customerId: string;
  readonly amount: number;
  readonly currency: string;
  readonly paymentMethod: string;
  readonly captureMethod: CaptureMethod;
  readonly description: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly requestHash: string;
  readonly requestedAt: string;
  /** The timestamp carried by the last event applied (its own `*_at`), not the time it was stored. */
  readonly updatedAt: string;
  readonly processorPaymentId: string | null;
  /** 0 until the authorization is recorded. */
  readonly amountAuthorized: number;
  readonly captureBefore: string | null;
  readonly capture: RequestedCapture | null;
  /** The capture id of the capture Stripe made; may differ from `capture` (automatic capture). */
  readonly capturedCaptureId: string | null;
  /** 0 until captured. */
  readonly amountCaptured: number;
  /** null until captured. */
  readonly fee: number | null;
  /** amountCaptured - fee; null until captured. */
  readonly net: number | null;
  readonly processorChargeId: string | null;
  readonly balanceTransactionId: string | null;
  /** The reason given when a cancel was requested, null when none was. */
  readonly cancelRequested: string | null;
  readonly canceledReason: string | null;
  readonly failure: PaymentFailure | null;
  readonly refunds: readonly Refund[];
  /** Sum of the succeeded refunds. */
  readonly amountRefunded: number;
}

export interface InitialState {
  readonly status: 'initial';
}

export type PaymentState = InitialState | Payment;

export function initialState(): PaymentState {
  return { status: 'initial' };
}

export function isPayment(state: PaymentState): state is Payment {
  return state.status !== 'initial';
}

/** A broken invariant is a bug in the ledger, never a business outcome: crash, do not limp on. */
export function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`payment invariant violated: ${message}`);
}

export function evolve(state: PaymentState, event: PaymentEvent): PaymentState {
  if (event.type === 'PaymentRequested') {
    assertInvariant(state.status === 'initial', 'PaymentRequested on a stream that already holds a payment');
    return paymentFromRequest(event.data);
  }
  assertInvariant(state.status !== 'initial', `${event.type} before PaymentRequested`);
  const applied = applyToPayment(state, event);
  // Processor facts carry Stripe's whole-second timestamps and may arrive out of order, so the
  // time of the last change never moves backwards.
  const next = applied.updatedAt < state.updatedAt ? { ...applied, updatedAt: state.updatedAt } : applied;
  assertPaymentInvariants(next);
  return next;
}

type LaterEvent = Exclude<PaymentEvent, { type: 'PaymentRequested' }>;
type EventData<T extends PaymentEvent['type']> = Extract<PaymentEvent, { type: T }>['data'];

function paymentFromRequest(data: EventData<'PaymentRequested'>): Payment {
  const payment: Payment = {
    status: 'requested',
    paymentId: data.payment_id,
    merchantId: data.merchant_id,
    customerId: data.customer_id,
    amount: data.amount,
    currency: data.currency,
    paymentMethod: data.payment_method,
    captureMethod: data.capture_method,
    description: data.description,
    metadata: data.metadata,
    requestHash: data.request_hash,
    requestedAt: data.requested_at,
    updatedAt: data.requested_at,
    processorPaymentId: null,
    amountAuthorized: 0,
    captureBefore: null,
    capture: null,
    capturedCaptureId: null,
    amountCaptured: 0,
    fee: null,
    net: null,
    processorChargeId: null,
    balanceTransactionId: null,
    cancelRequested: null,
    canceledReason: null,
    failure: null,
    refunds: [],
    amountRefunded: 0,
  };
  assertPaymentInvariants(payment);
  return payment;
}

function applyToPayment(payment: Payment, event: LaterEvent): Payment {
  switch (event.type) {
    case 'PaymentAuthorized': {
      expectStatus(payment, event.type, ['requested']);
      const { data } = event;
      return {
        ...payment,
        status: 'authorized',
        processorPaymentId: data.processor_payment_id,
        amountAuthorized: data.amount_authorized,
        captureBefore: data.capture_before,
        updatedAt: data.authorized_at,
      };
    }
    case 'PaymentCaptureRequested':
      expectStatus(payment, event.type, ['authorized']);
      return {
        ...payment,
        capture: { captureId: event.data.capture_id, amount: event.data.amount },
        updatedAt: event.data.requested_at,
      };
    case 'PaymentCaptured': {
      expectStatus(payment, event.type, ['authorized']);
      const { data } = event;
      return {
        ...payment,
        status: 'captured',
        capturedCaptureId: data.capture_id,
        amountCaptured: data.amount_captured,
        fee: data.fee,
        net: data.net,
        processorChargeId: data.processor_charge_id,
        balanceTransactionId: data.balance_transaction_id,
        updatedAt: data.captured_at,
      };
    }
    case 'PaymentFailed': {
      const { data } = event;
      expectStatus(payment, event.type, data.stage === 'authorization' ? ['requested'] : ['authorized']);
      return {
        ...payment,
        status: 'failed',
        failure: { stage: data.stage, code: data.code, declineCode: data.decline_code, message: data.message },
        updatedAt: data.failed_at,
      };
    }
    case 'PaymentCancelRequested':
      expectStatus(payment, event.type, ['requested', 'authorized']);
      return { ...payment, cancelRequested: event.data.reason, updatedAt: event.data.requested_at };
    case 'PaymentCanceled':
      expectStatus(payment, event.type, ['requested', 'authorized']);
      return { ...payment, status: 'canceled', canceledReason: event.data.reason, updatedAt: event.data.canceled_at };
    case 'RefundRequested':
      expectStatus(payment, event.type, ['captured', 'partially_refunded']);
      return applyRefundRequested(payment, event.data);
    case 'PaymentRefunded':
      expectStatus(payment, event.type, ['captured', 'partially_refunded']);
      return applyRefunded(payment, event.data);
    case 'RefundFailed':
      return applyRefundFailed(payment, event.data);
    default:
      return assertNever(event);
  }
}

function applyRefundRequested(payment: Payment, data: EventData<'RefundRequested'>): Payment {
  assertInvariant(!payment.refunds.some((r) => r.refundId === data.refund_id), `refund ${data.refund_id} requested twice`);
  const refund: Refund = {
    refundId: data.refund_id,
    amount: data.amount,
    reason: data.reason,
    status: 'pending',
    processorRefundId: null,
    requestedAt: data.requested_at,
  };
  return { ...payment, refunds: [...payment.refunds, refund], updatedAt: data.requested_at };
}

function applyRefundFailed(payment: Payment, data: EventData<'RefundFailed'>): Payment {
  const refund = payment.refunds.find((r) => r.refundId === data.refund_id);
  assertInvariant(refund?.status === 'pending', `RefundFailed for refund ${data.refund_id}, which is not pending`);
  return { ...payment, refunds: replaceRefund(payment.refunds, { ...refund, status: 'failed' }), updatedAt: data.failed_at };
}

function applyRefunded(payment: Payment, data: EventData<'PaymentRefunded'>): Payment {
  const known = payment.refunds.find((r) => r.refundId === data.refund_id);
  assertInvariant(known?.status !== 'succeeded', `refund ${data.refund_id} succeeded twice`);
  // Stripe's amount is the fact; a refund made outside the ledger (the Stripe dashboard) has no
  // RefundRequested before it and is added here.
  const refund: Refund = {
    refundId: data.refund_id,
    amount: data.amount,
    reason: known?.reason ?? null,
    status: 'succeeded',
    processorRefundId: data.processor_refund_id,
    requestedAt: known?.requestedAt ?? data.refunded_at,
  };
  const refunds = known ? replaceRefund(payment.refunds, refund) : [...payment.refunds, refund];
  const amountRefunded = payment.amountRefunded + data.amount;
  return {
    ...payment,
    refunds,
    amountRefunded,
    status: amountRefunded === payment.amountCaptured ? 'refunded' : 'partially_refunded',
    updatedAt: data.refunded_at,
  };
}

function replaceRefund(refunds: readonly Refund[], refund: Refund): readonly Refund[] {
  return refunds.map((r) => (r.refundId === refund.refundId ? refund : r));
}

function expectStatus(payment: Payment, eventType: string, allowed: readonly PaymentStatus[]): void {
  assertInvariant(allowed.includes(payment.status), `${eventType} on a ${payment.status} payment`);
}

const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0;

/** Everything that must hold for any payment folded from a stream that `decide` wrote. */
export function assertPaymentInvariants(p: Payment): void {
  assertInvariant(Number.isInteger(p.amount) && p.amount >= 1 && p.amount <= MAX_AMOUNT, `amount ${p.amount} out of range`);
  assertInvariant(isCount(p.amountAuthorized) && p.amountAuthorized <= p.amount, `amount_authorized ${p.amountAuthorized} exceeds amount ${p.amount}`);
  if (p.capture !== null) {
    assertInvariant(isCount(p.capture.amount) && p.capture.amount >= 1 && p.capture.amount <= p.amountAuthorized, `capture of ${p.capture.amount} exceeds authorized ${p.amountAuthorized}`);
  }
  assertInvariant(isCount(p.amountCaptured) && p.amountCaptured <= p.amountAuthorized, `captured ${p.amountCaptured} exceeds authorized ${p.amountAuthorized}`);
  if (p.fee !== null || p.net !== null) {
    assertInvariant(p.fee !== null && isCount(p.fee) && p.net === p.amountCaptured - p.fee, `net ${p.net} is not amount_captured ${p.amountCaptured} - fee ${p.fee}`);
  }
  const succeeded = p.refunds.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0);
  assertInvariant(p.amountRefunded === succeeded, `amount_refunded ${p.amountRefunded} is not the sum of succeeded refunds ${succeeded}`);
  assertInvariant(p.amountRefunded <= p.amountCaptured, `refunded ${p.amountRefunded} exceeds captured ${p.amountCaptured}`);
  for (const r of p.refunds) assertInvariant(Number.isInteger(r.amount) && r.amount >= 1, `refund ${r.refundId} of ${r.amount}`);
  assertInvariant(p.status !== 'refunded' || (p.amountCaptured > 0 && p.amountRefunded === p.amountCaptured), 'refunded before every captured unit was refunded');
  assertInvariant(p.status !== 'partially_refunded' || (p.amountRefunded > 0 && p.amountRefunded < p.amountCaptured), 'partially_refunded without a partial refund');
}

function assertNever(value: never): never {
  throw new Error(`unexpected event: ${JSON.stringify(value)}`);
}
