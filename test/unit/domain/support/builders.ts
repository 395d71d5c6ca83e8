import type {
  CancelPayment,
  CapturePayment,
  PaymentAuthorized,
  PaymentCanceled,
  PaymentCancelRequested,
  PaymentCaptured,
  PaymentCaptureRequested,
  PaymentEvent,
  PaymentFailed,
  PaymentRefunded,
  PaymentRequested,
  RecordAuthorization,
  RecordCancellation,
  RecordCapture,
  RecordFailure,
  RecordRefund,
  RecordRefundFailure,
  RefundFailed,
  RefundPayment,
  RefundRequested,
  RequestPayment,
} from '../../../../domain';

/**
 * Builders for events and commands with plausible defaults: a 100.00 usd payment, captured in
 * full with Stripe's 2.9% + 30 fee. Override only what a spec is about.
 */

export const PAYMENT_ID = '5f0c6e1e-8a4e-5b8e-9d7a-1f2e3d4c5b6a';
export const AMOUNT = 10_000;
export const FEE = 320;
export const T0 = '2025-03-01T10:00:00.000Z';
export const T1 = '2025-03-01T10:00:01.000Z';
export const T2 = '2025-03-01T10:00:02.000Z';
export const T3 = '2025-03-01T10:00:03.000Z';
export const T4 = '2025-03-01T10:00:04.000Z';

type DataOf<E extends PaymentEvent> = E['data'];
type Fields<C> = Partial<Omit<C, 'type'>>;

// ---- events -------------------------------------------------------------------------------------

export const paymentRequested = (data: Partial<DataOf<PaymentRequested>> = {}): PaymentRequested => ({
  type: 'PaymentRequested',
  data: {
    payment_id: PAYMENT_ID,
    merchant_id: 'acct_merchant_1',
    customer_id: 'cus_1',
    amount: AMOUNT,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    capture_method: 'manual',
    description: 'Order 1001',
    metadata: { order_id: '1001' },
    request_hash: 'sha256:request',
    requested_at: T0,
    ...data,
  },
});

export const paymentAuthorized = (data: Partial<DataOf<PaymentAuthorized>> = {}): PaymentAuthorized => ({
  type: 'PaymentAuthorized',
  data: { processor_payment_id: 'pi_1', amount_authorized: AMOUNT, authorized_at: T1, capture_before: '2025-03-08T10:00:01.000Z', ...data },
});

export const paymentCaptureRequested = (data: Partial<DataOf<PaymentCaptureRequested>> = {}): PaymentCaptureRequested => ({
  type: 'PaymentCaptureRequested',
  data: { capture_id: 'cap_1', amount: AMOUNT, requested_at: T2, ...data },
});

/** `net` follows `amount_captured` and `fee` unless given. */
export const paymentCaptured = (data: Partial<DataOf<PaymentCaptured>> = {}): PaymentCaptured => {
  const amountCaptured = data.amount_captured ?? AMOUNT;
  const fee = data.fee ?? FEE;
  return {
    type: 'PaymentCaptured',
    data: {
      capture_id: 'cap_1',
      amount_captured: amountCaptured,
      fee,
      net: amountCaptured - fee,
      processor_charge_id: 'ch_1',
      balance_transaction_id: 'txn_1',
      captured_at: T3,
      ...data,
    },
  };
};

export const paymentFailed = (data: Partial<DataOf<PaymentFailed>> = {}): PaymentFailed => ({
  type: 'PaymentFailed',
  data: { stage: 'authorization', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', failed_at: T1, ...data },
});

export const paymentCancelRequested = (data: Partial<DataOf<PaymentCancelRequested>> = {}): PaymentCancelRequested => ({
  type: 'PaymentCancelRequested',
  data: { reason: 'requested_by_customer', requested_at: T2, ...data },
});

export const paymentCanceled = (data: Partial<DataOf<PaymentCanceled>> = {}): PaymentCanceled => ({
  type: 'PaymentCanceled',
  data: { reason: 'requested_by_customer', canceled_at: T3, ...data },
});

export const refundRequested = (data: Partial<DataOf<RefundRequested>> = {}): RefundRequested => ({
  type: 'RefundRequested',
  data: { refund_id: 'ref_1', amount: 2_500, reason: 'requested_by_customer', requested_at: T4, ...data },
});

export const paymentRefunded = (data: Partial<DataOf<PaymentRefunded>> = {}): PaymentRefunded => ({
  type: 'PaymentRefunded',
  data: { refund_id: 'ref_1', amount: 2_500, processor_refund_id: 're_1', balance_transaction_id: 'txn_re_1', refunded_at: T4, ...data },
});

export const refundFailed = (data: Partial<DataOf<RefundFailed>> = {}): RefundFailed => ({
  type: 'RefundFailed',
  data: { refund_id: 'ref_1', code: 'charge_for_pending_refund_disputed', message: 'The refund failed.', failed_at: T4, ...data },
});

// ---- histories ----------------------------------------------------------------------------------

export const requestedPayment = (): PaymentEvent[] => [paymentRequested()];
export const authorizedPayment = (): PaymentEvent[] => [paymentRequested(), paymentAuthorized()];
export const captureRequestedPayment = (amount = AMOUNT): PaymentEvent[] => [...authorizedPayment(), paymentCaptureRequested({ amount })];
export const capturedPayment = (amount = AMOUNT): PaymentEvent[] => [
  ...captureRequestedPayment(amount),
  paymentCaptured({ amount_captured: amount }),
];
export const canceledPayment = (): PaymentEvent[] => [...authorizedPayment(), paymentCanceled({ reason: 'expired' })];
export const failedPayment = (): PaymentEvent[] => [paymentRequested(), paymentFailed()];

// ---- commands -----------------------------------------------------------------------------------

export const requestPayment = (fields: Fields<RequestPayment> = {}): RequestPayment => ({
  type: 'RequestPayment',
  paymentId: PAYMENT_ID,
  merchantId: 'acct_merchant_1',
  customerId: 'cus_1',
  amount: AMOUNT,
  currency: 'usd',
  paymentMethod: 'pm_card_visa',
  captureMethod: 'manual',
  description: 'Order 1001',
  metadata: { order_id: '1001' },
  requestHash: 'sha256:request',
  now: T0,
  ...fields,
});

export const capturePayment = (fields: Fields<CapturePayment> = {}): CapturePayment => ({
  type: 'CapturePayment',
  captureId: 'cap_1',
  amount: null,
  now: T2,
  ...fields,
});

export const cancelPayment = (fields: Fields<CancelPayment> = {}): CancelPayment => ({
  type: 'CancelPayment',
  reason: 'requested_by_customer',
  now: T2,
  ...fields,
});

export const refundPayment = (fields: Fields<RefundPayment> = {}): RefundPayment => ({
  type: 'RefundPayment',
  refundId: 'ref_1',
  amount: null,
  reason: 'requested_by_customer',
  now: T4,
  ...fields,
});

export const recordAuthorization = (fields: Fields<RecordAuthorization> = {}): RecordAuthorization => ({
  type: 'RecordAuthorization',
  processorPaymentId: 'pi_1',
  amountAuthorized: AMOUNT,
  authorizedAt: T1,
  captureBefore: '2025-03-08T10:00:01.000Z',
  ...fields,
});

/** `net` follows `amountCaptured` and `fee` unless given. */
export const recordCapture = (fields: Fields<RecordCapture> = {}): RecordCapture => {
  const amountCaptured = fields.amountCaptured ?? AMOUNT;
  const fee = fields.fee ?? FEE;
  return {
    type: 'RecordCapture',
    captureId: 'cap_1',
    processorPaymentId: 'pi_1',
    amountCaptured,
    fee,
    net: amountCaptured - fee,
    processorChargeId: 'ch_1',
    balanceTransactionId: 'txn_1',
    capturedAt: T3,
    ...fields,
  };
};

export const recordFailure = (fields: Fields<RecordFailure> = {}): RecordFailure => ({
  type: 'RecordFailure',
  stage: 'authorization',
  code: 'card_declined',
  declineCode: 'generic_decline',
  message: 'Your card was declined.',
  failedAt: T1,
  ...fields,
});

export const recordCancellation = (fields: Fields<RecordCancellation> = {}): RecordCancellation => ({
  type: 'RecordCancellation',
  reason: 'requested_by_customer',
  canceledAt: T3,
  ...fields,
});

export const recordRefund = (fields: Fields<RecordRefund> = {}): RecordRefund => ({
  type: 'RecordRefund',
  refundId: 'ref_1',
  amount: 2_500,
  processorRefundId: 're_1',
  balanceTransactionId: 'txn_re_1',
  refundedAt: T4,
  ...fields,
});

export const recordRefundFailure = (fields: Fields<RecordRefundFailure> = {}): RecordRefundFailure => ({
  type: 'RecordRefundFailure',
  refundId: 'ref_1',
  code: 'charge_for_pending_refund_disputed',
  message: 'The refund failed.',
  failedAt: T4,
  ...fields,
});
