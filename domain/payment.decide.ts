import type {
  CancelPayment,
  CapturePayment,
  PaymentCommand,
  RecordAuthorization,
  RecordCancellation,
  RecordCapture,
  RecordFailure,
  RecordRefund,
  RecordRefundFailure,
  RefundPayment,
  RequestPayment,
} from './payment.commands';
import type { PaymentCaptured, PaymentEvent } from './payment.events';
import { amountProblem, MAX_AMOUNT, normalizeCurrency } from './money';
import { assertInvariant, evolve, initialState, type Payment, type PaymentState } from './payment.state';

export const PAYMENT_REJECTIONS = [
  'payment_not_found',
  'payment_already_requested',
  'payment_not_authorized',
  'payment_not_captured',
  'payment_already_captured',
  'payment_already_canceled',
  'payment_already_failed',
  'capture_already_requested',
  'capture_exceeds_authorized',
  'refund_exceeds_captured',
  'refund_already_requested',
  'amount_out_of_range',
  'amount_not_integer',
  'amount_not_representable',
  'currency_not_supported',
  'fact_contradicts_stream',
] as const;

export type PaymentRejection = (typeof PAYMENT_REJECTIONS)[number];

/** Either the events to append (none: the command is already reflected in the stream) or why not. */
export type Decision = { readonly events: readonly PaymentEvent[] } | { readonly rejected: PaymentRejection; readonly detail: string };

export function isRejection(decision: Decision): decision is Extract<Decision, { rejected: PaymentRejection }> {
  return 'rejected' in decision;
}

export function foldPayment(events: readonly PaymentEvent[]): PaymentState {
  return events.reduce(evolve, initialState());
}

/** Pure: the time and every id come from the command. */
export function decide(command: PaymentCommand, state: PaymentState): Decision {
  if (command.type === 'RequestPayment') return requestPayment(command, state);
  if (state.status === 'initial') return reject('payment_not_found', 'no payment in this stream');
  switch (command.type) {
    case 'CapturePayment':
      return capturePayment(command, state);
    case 'CancelPayment':
      return cancelPayment(command, state);
    case 'RefundPayment':
      return refundPayment(command, state);
    case 'RecordAuthorization':
      return recordAuthorization(command, state);
    case 'RecordCapture':
      return recordCapture(command, state);
    case 'RecordFailure':
      return recordFailure(command, state);
    case 'RecordCancellation':
      return recordCancellation(command, state);
    case 'RecordRefund':
      return recordRefund(command, state);
    case 'RecordRefundFailure':
      return recordRefundFailure(command, state);
    default:
      return assertNever(command);
  }
}

const emit = (...events: PaymentEvent[]): Decision => ({ events });
const nothing = (): Decision => ({ events: [] });
const reject = (rejected: PaymentRejection, detail: string): Decision => ({ rejected, detail });

const isCaptured = (p: Payment): boolean => p.status === 'captured' || p.status === 'partially_refunded' || p.status === 'refunded';

// ---- client commands ----------------------------------------------------------------------------

function requestPayment(command: RequestPayment, state: PaymentState): Decision {
  // Idempotent replays (same key, same body) are answered by the command handler before deciding.
  if (state.status !== 'initial') return reject('payment_already_requested', `payment ${state.paymentId} already exists`);
  const problem = amountProblem(command.amount, command.currency);
  if (problem) return reject(problem, `cannot charge ${command.amount} in ${JSON.stringify(command.currency)}`);
  return emit({
    type: 'PaymentRequested',
    data: {
      payment_id: command.paymentId,
      merchant_id: command.merchantId,
      customer_id: command.customerId,
      amount: command.amount,
      currency: normalizeCurrency(command.currency),
      payment_method: command.paymentMethod,
      capture_method: command.captureMethod,
      description: command.description,
      metadata: command.metadata,
      request_hash: command.requestHash,
      requested_at: command.now,
    },
  });
}

function capturePayment(command: CapturePayment, p: Payment): Decision {
  if (p.capture !== null && p.capture.captureId === command.captureId) {
    return command.amount === null || command.amount === p.capture.amount
      ? nothing()
      : reject('capture_already_requested', `capture ${command.captureId} was requested for ${p.capture.amount}`);
  }
  const blocked = captureBlockedBy(p);
  if (blocked) return blocked;
  const amount = command.amount ?? p.amountAuthorized;
  const problem = amountProblem(amount, p.currency);
  if (problem) return reject(problem, `cannot capture ${amount} ${p.currency}`);
  if (amount > p.amountAuthorized) {
    return reject('capture_exceeds_authorized', `capture of ${amount} exceeds the ${p.amountAuthorized} authorized`);
  }
  return emit({ type: 'PaymentCaptureRequested', data: { capture_id: command.captureId, amount, requested_at: command.now } });
}

function captureBlockedBy(p: Payment): Decision | null {
  if (p.status === 'failed') return reject('payment_already_failed', 'a failed payment cannot be captured');
  if (p.status === 'canceled' || p.cancelRequested !== null) return reject('payment_already_canceled', 'the payment is canceled or being canceled');
  if (isCaptured(p)) return reject('payment_already_captured', 'the payment is already captured');
  if (p.status === 'requested') return reject('payment_not_authorized', 'the payment is not authorized yet');
  if (p.capture !== null) return reject('capture_already_requested', `capture ${p.capture.captureId} is already requested`);
  return null;
}

function cancelPayment(command: CancelPayment, p: Payment): Decision {
  switch (p.status) {
    case 'failed':
      return reject('payment_already_failed', 'a failed payment holds nothing to cancel');
    case 'captured':
    case 'partially_refunded':
    case 'refunded':
      return reject('payment_already_captured', 'a captured payment cannot be canceled; refund it');
    case 'canceled':
      // A repeated cancel is answered with success; a payment that Stripe canceled on its own
      // (an expired authorization) was never canceled by this client.
      return p.cancelRequested !== null ? nothing() : reject('payment_already_canceled', `the payment was canceled: ${p.canceledReason}`);
    case 'requested':
    case 'authorized':
      if (p.cancelRequested !== null) return nothing();
      if (p.capture !== null) return reject('payment_already_captured', `capture ${p.capture.captureId} is already requested`);
      return emit({ type: 'PaymentCancelRequested', data: { reason: command.reason, requested_at: command.now } });
    default:
      return assertNever(p.status);
  }
}

/** Captured, less what has been refunded and what refunds still pending may yet take. */
export function refundableAmount(p: Payment): number {
  const pending = p.refunds.filter((r) => r.status === 'pending').reduce((sum, r) => sum + r.amount, 0);
  return Math.max(0, p.amountCaptured - p.amountRefunded - pending);
}

function refundPayment(command: RefundPayment, p: Payment): Decision {
  const existing = p.refunds.find((r) => r.refundId === command.refundId);
  if (existing) {
    return command.amount === null || command.amount === existing.amount
      ? nothing()
      : reject('refund_already_requested', `refund ${command.refundId} was requested for ${existing.amount}`);
  }
  if (p.status === 'failed') return reject('payment_already_failed', 'a failed payment has nothing to refund');
  if (p.status === 'canceled') return reject('payment_already_canceled', 'a canceled payment has nothing to refund');
  if (!isCaptured(p)) return reject('payment_not_captured', 'only a captured payment can be refunded');
  const refundable = refundableAmount(p);
  if (command.amount === null && refundable === 0) return reject('refund_exceeds_captured', 'nothing is left to refund');
  const amount = command.amount ?? refundable;
  const problem = amountProblem(amount, p.currency);
  if (problem) return reject(problem, `cannot refund ${amount} ${p.currency}`);
  if (amount > refundable) return reject('refund_exceeds_captured', `refund of ${amount} exceeds the ${refundable} still refundable`);
  return emit({
    type: 'RefundRequested',
    data: { refund_id: command.refundId, amount, reason: command.reason, requested_at: command.now },
  });
}

// ---- processor facts: any order, any multiplicity; a fact already held decides to no events ----

function recordAuthorization(command: RecordAuthorization, p: Payment): Decision {
  if (p.status !== 'requested') return nothing();
  const wrong = factAmountProblem(command.amountAuthorized, p.amount);
  if (wrong) return reject(wrong, `authorized ${command.amountAuthorized} of a ${p.amount} payment`);
  return emit({
    type: 'PaymentAuthorized',
    data: {
      processor_payment_id: command.processorPaymentId,
      amount_authorized: command.amountAuthorized,
      authorized_at: command.authorizedAt,
      capture_before: command.captureBefore,
    },
  });
}

function recordCapture(command: RecordCapture, p: Payment): Decision {
  // Fee and net are computed by our own translation of Stripe's balance transaction.
  assertInvariant(Number.isInteger(command.fee) && command.fee >= 0, `fee ${command.fee} is not a non-negative integer`);
  assertInvariant(command.net === command.amountCaptured - command.fee, `net ${command.net} is not ${command.amountCaptured} - ${command.fee}`);
  switch (p.status) {
    case 'requested': {
      // The capture was heard before the authorization (automatic capture, reordered webhooks):
      // a capture implies the authorization, of the whole amount, so both are recorded.
      const wrong = factAmountProblem(command.amountCaptured, p.amount);
      if (wrong) return reject(wrong, `captured ${command.amountCaptured} of a ${p.amount} payment`);
      return emit(
        {
          type: 'PaymentAuthorized',
          data: {
            processor_payment_id: command.processorPaymentId,
            amount_authorized: p.amount,
            authorized_at: command.capturedAt,
            capture_before: null,
          },
        },
        capturedEvent(command),
      );
    }
    case 'authorized': {
      const wrong = factAmountProblem(command.amountCaptured, p.amountAuthorized);
      if (wrong) return reject(wrong, `captured ${command.amountCaptured} of ${p.amountAuthorized} authorized`);
      return emit(capturedEvent(command));
    }
    case 'captured':
    case 'partially_refunded':
    case 'refunded': {
      // Stripe captures a PaymentIntent once; the same capture may be reported under our capture
      // id (job result) or found by its charge (webhook, reconciliation).
      const sameCapture = command.captureId === p.capturedCaptureId || command.processorChargeId === p.processorChargeId;
      return sameCapture && command.amountCaptured === p.amountCaptured
        ? nothing()
        : reject('fact_contradicts_stream', `payment was already captured for ${p.amountCaptured} by ${p.capturedCaptureId}`);
    }
    case 'canceled':
    case 'failed':
      return reject('fact_contradicts_stream', `a ${p.status} payment cannot have been captured`);
    default:
      return assertNever(p.status);
  }
}

function capturedEvent(command: RecordCapture): PaymentCaptured {
  return {
    type: 'PaymentCaptured',
    data: {
      capture_id: command.captureId,
      amount_captured: command.amountCaptured,
      fee: command.fee,
      net: command.net,
      processor_charge_id: command.processorChargeId,
      balance_transaction_id: command.balanceTransactionId,
      captured_at: command.capturedAt,
    },
  };
}

function recordFailure(command: RecordFailure, p: Payment): Decision {
  // A failure reported for a stage the payment has already left is stale, and a failed payment
  // stays failed; both decide to nothing.
  const stageStatus = command.stage === 'authorization' ? 'requested' : 'authorized';
  if (p.status !== stageStatus) return nothing();
  return emit({
    type: 'PaymentFailed',
    data: {
      stage: command.stage,
      code: command.code,
      decline_code: command.declineCode,
      message: command.message,
      failed_at: command.failedAt,
    },
  });
}

function recordCancellation(command: RecordCancellation, p: Payment): Decision {
  switch (p.status) {
    case 'requested':
    case 'authorized':
      return emit({ type: 'PaymentCanceled', data: { reason: command.reason, canceled_at: command.canceledAt } });
    case 'canceled':
    case 'failed':
      return nothing();
    case 'captured':
    case 'partially_refunded':
    case 'refunded':
      return reject('fact_contradicts_stream', 'a captured payment cannot have been canceled');
    default:
      return assertNever(p.status);
  }
}

function recordRefund(command: RecordRefund, p: Payment): Decision {
  if (p.status === 'canceled' || p.status === 'failed') {
    return reject('fact_contradicts_stream', `a ${p.status} payment cannot have been refunded`);
  }
  // The refund fact overtook the capture fact: refuse for now, the capture fact will come and the
  // refund will be reported again (webhook redelivery, reconciliation).
  if (!isCaptured(p)) return reject('payment_not_captured', 'the capture is not recorded yet');
  const already = p.refunds.find(
    (r) => r.status === 'succeeded' && (r.refundId === command.refundId || r.processorRefundId === command.processorRefundId),
  );
  if (already) {
    return already.amount === command.amount
      ? nothing()
      : reject('fact_contradicts_stream', `refund ${already.refundId} succeeded for ${already.amount}, not ${command.amount}`);
  }
  const wrong = factAmountProblem(command.amount, p.amountCaptured - p.amountRefunded);
  if (wrong) return reject(wrong, `refund of ${command.amount} with ${p.amountCaptured - p.amountRefunded} not yet refunded`);
  return emit({
    type: 'PaymentRefunded',
    data: {
      refund_id: command.refundId,
      amount: command.amount,
      processor_refund_id: command.processorRefundId,
      balance_transaction_id: command.balanceTransactionId,
      refunded_at: command.refundedAt,
    },
  });
}

function recordRefundFailure(command: RecordRefundFailure, p: Payment): Decision {
  const refund = p.refunds.find((r) => r.refundId === command.refundId);
  if (refund?.status !== 'pending') return nothing();
  return emit({
    type: 'RefundFailed',
    data: { refund_id: command.refundId, code: command.code, message: command.message, failed_at: command.failedAt },
  });
}

/** An amount reported by Stripe that the stream cannot hold: malformed, or above `limit`. */
function factAmountProblem(amount: number, limit: number): PaymentRejection | null {
  if (!Number.isInteger(amount)) return 'amount_not_integer';
  if (amount < 1 || amount > MAX_AMOUNT) return 'amount_out_of_range';
  if (amount > limit) return 'fact_contradicts_stream';
  return null;
}

function assertNever(value: never): never {
  throw new Error(`unexpected command: ${JSON.stringify(value)}`);
}
