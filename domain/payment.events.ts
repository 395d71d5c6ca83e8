/**
 * The facts of a payment, one stream per payment. Data is snake_case because it is stored and
 * served as it is; amounts are integers in the currency's minor unit.
 */

export interface PaymentRequested {
  readonly type: 'PaymentRequested';
  readonly data: {
    readonly payment_id: string;
    readonly merchant_id: string;
    readonly customer_id: string;
    readonly amount: number;
    readonly currency: string;
    readonly payment_method: string;
    readonly capture_method: CaptureMethod;
    readonly description: string | null;
    readonly metadata: Readonly<Record<string, string>>;
    readonly request_hash: string;
    readonly requested_at: string;
  };
}

export interface PaymentAuthorized {
  readonly type: 'PaymentAuthorized';
  readonly data: {
    readonly processor_payment_id: string;
    readonly amount_authorized: number;
    readonly authorized_at: string;
    readonly capture_before: string | null;
  };
}

export interface PaymentCaptureRequested {
  readonly type: 'PaymentCaptureRequested';
  readonly data: { readonly capture_id: string; readonly amount: number; readonly requested_at: string };
}

export interface PaymentCaptured {
  readonly type: 'PaymentCaptured';
  readonly data: {
    readonly capture_id: string;
    readonly amount_captured: number;
    readonly fee: number;
    readonly net: number;
    readonly processor_charge_id: string;
    readonly balance_transaction_id: string;
    readonly captured_at: string;
  };
}

export interface PaymentFailed {
  readonly type: 'PaymentFailed';
  readonly data: {
    readonly stage: 'authorization' | 'capture';
    readonly code: string;
    readonly decline_code: string | null;
    readonly message: string;
    readonly failed_at: string;
  };
}

export interface PaymentCancelRequested {
  readonly type: 'PaymentCancelRequested';
  readonly data: { readonly reason: string; readonly requested_at: string };
}

export interface PaymentCanceled {
  readonly type: 'PaymentCanceled';
  readonly data: { readonly reason: string; readonly canceled_at: string };
}

export interface RefundRequested {
  readonly type: 'RefundRequested';
  readonly data: { readonly refund_id: string; readonly amount: number; readonly reason: string | null; readonly requested_at: string };
}

export interface PaymentRefunded {
  readonly type: 'PaymentRefunded';
  readonly data: {
    readonly refund_id: string;
    readonly amount: number;
    readonly processor_refund_id: string;
    readonly balance_transaction_id: string;
    readonly refunded_at: string;
  };
}

export interface RefundFailed {
  readonly type: 'RefundFailed';
  readonly data: { readonly refund_id: string; readonly code: string; readonly message: string; readonly failed_at: string };
}

export type CaptureMethod = 'automatic' | 'manual';

export type PaymentEvent =
  | PaymentRequested
  | PaymentAuthorized
  | PaymentCaptureRequested
  | PaymentCaptured
  | PaymentFailed
  | PaymentCancelRequested
  | PaymentCanceled
  | RefundRequested
  | PaymentRefunded
  | RefundFailed;

export type PaymentEventType = PaymentEvent['type'];

export const PAYMENT_EVENT_TYPES: readonly PaymentEventType[] = [
  'PaymentRequested',
  'PaymentAuthorized',
  'PaymentCaptureRequested',
  'PaymentCaptured',
  'PaymentFailed',
  'PaymentCancelRequested',
  'PaymentCanceled',
  'RefundRequested',
  'PaymentRefunded',
  'RefundFailed',
];

export function isPaymentEventType(type: string): type is PaymentEventType {
  return (PAYMENT_EVENT_TYPES as readonly string[]).includes(type);
}
