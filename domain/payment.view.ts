import type { CaptureMethod } from './payment.events';
import type { Payment, PaymentStatus, RefundStatus } from './payment.state';

/** The payment as the APIs show it (DESIGN section 5), less `revision` and `position`, which the store knows. */
export interface PaymentView {
  readonly id: string;
  readonly object: 'payment';
  readonly status: PaymentStatus;
  readonly amount: number;
  readonly currency: string;
  readonly customer_id: string;
  readonly capture_method: CaptureMethod;
  readonly amount_captured: number;
  readonly amount_refunded: number;
  /** null until captured. */
  readonly fee: number | null;
  /** null until captured. */
  readonly net: number | null;
  readonly failure_code: string | null;
  readonly failure_message: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly merchant_id: string;
  readonly description: string | null;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface RefundView {
  readonly id: string;
  readonly object: 'refund';
  readonly payment_id: string;
  readonly amount: number;
  readonly currency: string;
  readonly reason: string | null;
  readonly status: RefundStatus;
  readonly created_at: string;
}

export function paymentView(state: Payment): PaymentView {
  return {
    id: state.paymentId,
    object: 'payment',
    status: state.status,
    amount: state.amount,
    currency: state.currency,
    customer_id: state.customerId,
    capture_method: state.captureMethod,
    amount_captured: state.amountCaptured,
    amount_refunded: state.amountRefunded,
    fee: state.fee,
    net: state.net,
    failure_code: state.failure?.code ?? null,
    failure_message: state.failure?.message ?? null,
    created_at: state.requestedAt,
    updated_at: state.updatedAt,
    merchant_id: state.merchantId,
    description: state.description,
    metadata: state.metadata,
  };
}

export function refundView(state: Payment, refundId: string): RefundView | null {
  const refund = state.refunds.find((r) => r.refundId === refundId);
  if (!refund) return null;
  return {
    id: refund.refundId,
    object: 'refund',
    payment_id: state.paymentId,
    amount: refund.amount,
    currency: state.currency,
    reason: refund.reason,
    status: refund.status,
    created_at: refund.requestedAt,
  };
}
