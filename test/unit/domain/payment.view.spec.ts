import { paymentView, refundView } from '../../../domain';
import { paymentAfter } from './support/given';
import {
  AMOUNT,
  FEE,
  capturedPayment,
  paymentFailed,
  paymentRefunded,
  paymentRequested,
  refundRequested,
  requestedPayment,
  T0,
  T1,
  T4,
  PAYMENT_ID,
} from './support/builders';

describe('the payment view', () => {
  describe('when the payment is requested', () => {
    it('shows the request in snake_case, with nothing captured and no fee yet', () => {
      expect(paymentView(paymentAfter(requestedPayment()))).toEqual({
        id: PAYMENT_ID,
        object: 'payment',
        status: 'requested',
        amount: AMOUNT,
        currency: 'usd',
        customer_id: 'cus_1',
        capture_method: 'manual',
        amount_captured: 0,
        amount_refunded: 0,
        fee: null,
        net: null,
        failure_code: null,
        failure_message: null,
        created_at: T0,
        updated_at: T0,
        merchant_id: 'acct_merchant_1',
        description: 'Order 1001',
        metadata: { order_id: '1001' },
      });
    });
  });

  describe('when the payment is partially refunded', () => {
    it('shows captured and refunded amounts, fee and net as integers', () => {
      const view = paymentView(paymentAfter([...capturedPayment(), paymentRefunded({ amount: 2_500 })]));
      expect(view).toMatchObject({ status: 'partially_refunded', amount_captured: AMOUNT, amount_refunded: 2_500, fee: FEE, net: AMOUNT - FEE, updated_at: T4 });
      for (const n of [view.amount, view.amount_captured, view.amount_refunded, view.fee, view.net]) expect(Number.isInteger(n)).toBe(true);
    });
  });

  describe('when the payment failed', () => {
    it('shows the failure code and message', () => {
      const view = paymentView(paymentAfter([paymentRequested(), paymentFailed({ code: 'card_declined', message: 'Declined.' })]));
      expect(view).toMatchObject({ status: 'failed', failure_code: 'card_declined', failure_message: 'Declined.', updated_at: T1 });
    });
  });
});

describe('the refund view', () => {
  it('shows a pending refund with the payment currency', () => {
    const payment = paymentAfter([...capturedPayment(), refundRequested({ refund_id: 'ref_7', amount: 700, reason: 'duplicate' })]);
    expect(refundView(payment, 'ref_7')).toEqual({
      id: 'ref_7',
      object: 'refund',
      payment_id: PAYMENT_ID,
      amount: 700,
      currency: 'usd',
      reason: 'duplicate',
      status: 'pending',
      created_at: T4,
    });
  });

  it('shows the refund succeeded once Stripe confirms it', () => {
    const payment = paymentAfter([...capturedPayment(), refundRequested({ refund_id: 'ref_7', amount: 700 }), paymentRefunded({ refund_id: 'ref_7', amount: 700 })]);
    expect(refundView(payment, 'ref_7')?.status).toBe('succeeded');
  });

  it('is null for a refund the payment does not hold', () => {
    expect(refundView(paymentAfter(capturedPayment()), 'ref_missing')).toBeNull();
  });
});
