import type { CaptureMethod } from './payment.events';

/**
 * Commands carry everything `decide` needs: the time (`now`, ISO 8601) and every id. Client
 * commands come from the write API; the Record* commands are facts reported by Stripe (job
 * results, webhooks, reconciliation) and may arrive late, twice or out of order.
 */

export interface RequestPayment {
  readonly type: 'RequestPayment';
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
  readonly now: string;
}

export interface CapturePayment {
  readonly type: 'CapturePayment';
  readonly captureId: string;
  /** Absent: capture everything authorized. */
  readonly amount: number | null;
  readonly now: string;
}

export interface CancelPayment {
  readonly type: 'CancelPayment';
  readonly reason: string;
  readonly now: string;
}

export interface RefundPayment {
  readonly type: 'RefundPayment';
  readonly refundId: string;
  /** Absent: refund everything still refundable. */
  readonly amount: number | null;
  readonly reason: string | null;
  readonly now: string;
}

export interface RecordAuthorization {
  readonly type: 'RecordAuthorization';
  readonly processorPaymentId: string;
  readonly amountAuthorized: number;
  readonly authorizedAt: string;
  readonly captureBefore: string | null;
}

export interface RecordCapture {
  readonly type: 'RecordCapture';
  readonly captureId: string;
  /** Stripe's PaymentIntent id, used when the capture is the first fact heard (automatic capture). */
  readonly processorPaymentId: string;
  readonly amountCaptured: number;
  readonly fee: number;
  readonly net: number;
  readonly processorChargeId: string;
  readonly balanceTransactionId: string;
  readonly capturedAt: string;
}

export interface RecordFailure {
  readonly type: 'RecordFailure';
  readonly stage: 'authorization' | 'capture';
  readonly code: string;
  readonly declineCode: string | null;
  readonly message: string;
  readonly failedAt: string;
}

export interface RecordCancellation {
  readonly type: 'RecordCancellation';
  readonly reason: string;
  readonly canceledAt: string;
}

export interface RecordRefund {
  readonly type: 'RecordRefund';
  /** The ledger's refund id, or a new deterministic one for a refund made outside the ledger. */
  readonly refundId: string;
  readonly amount: number;
  readonly processorRefundId: string;
  readonly balanceTransactionId: string;
  readonly refundedAt: string;
}

export interface RecordRefundFailure {
  readonly type: 'RecordRefundFailure';
  readonly refundId: string;
  readonly code: string;
  readonly message: string;
  readonly failedAt: string;
}

export type ClientCommand = RequestPayment | CapturePayment | CancelPayment | RefundPayment;
export type ProcessorFact =
  | RecordAuthorization
  | RecordCapture
  | RecordFailure
  | RecordCancellation
  | RecordRefund
  | RecordRefundFailure;
export type PaymentCommand = ClientCommand | ProcessorFact;
