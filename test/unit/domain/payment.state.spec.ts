import { evolve, foldPayment, initialState, type PaymentEvent } from '../../../domain';
import { paymentAfter } from './support/given';
import {
  AMOUNT,
  FEE,
  authorizedPayment,
  capturedPayment,
  paymentAuthorized,
  paymentCanceled,
  paymentCancelRequested,
  paymentCaptured,
  paymentCaptureRequested,
  paymentFailed,
  paymentRefunded,
  paymentRequested,
  refundFailed,
  refundRequested,
  requestedPayment,
  T0,
  T1,
  T3,
  T4,
} from './support/builders';

describe('the initial state', () => {
  it('holds no payment', () => {
    expect(initialState()).toEqual({ status: 'initial' });
  });
});

describe('evolve', () => {
  describe('when the payment is requested', () => {
    it('holds everything the request said, and nothing Stripe has not said yet', () => {
      expect(paymentAfter(requestedPayment())).toEqual({
        status: 'requested',
        paymentId: paymentRequested().data.payment_id,
        merchantId: 'acct_merchant_1',
        customerId: 'cus_1',
        amount: AMOUNT,
        currency: 'usd',
        paymentMethod: 'pm_card_visa',
        captureMethod: 'manual',
        description: 'Order 1001',
        metadata: { order_id: '1001' },
        requestHash: 'sha256:request',
        requestedAt: T0,
        updatedAt: T0,
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
      });
    });
  });

  describe('when the payment is authorized', () => {
    it('holds the authorization', () => {
      const p = paymentAfter([paymentRequested(), paymentAuthorized({ amount_authorized: 9_000, capture_before: '2025-03-08T00:00:00.000Z' })]);
      expect(p).toMatchObject({ status: 'authorized', processorPaymentId: 'pi_1', amountAuthorized: 9_000, captureBefore: '2025-03-08T00:00:00.000Z', updatedAt: T1 });
    });

    it('holds a requested capture without counting it as captured', () => {
      const p = paymentAfter([...authorizedPayment(), paymentCaptureRequested({ amount: 4_000 })]);
      expect(p).toMatchObject({ status: 'authorized', capture: { captureId: 'cap_1', amount: 4_000 }, amountCaptured: 0 });
    });

    it('holds a requested cancel without counting it as canceled', () => {
      const p = paymentAfter([...authorizedPayment(), paymentCancelRequested({ reason: 'duplicate' })]);
      expect(p).toMatchObject({ status: 'authorized', cancelRequested: 'duplicate', canceledReason: null });
    });
  });

  describe('when the payment is captured', () => {
    it('holds the amounts and processor ids of the capture', () => {
      const p = paymentAfter(capturedPayment(6_000));
      expect(p).toMatchObject({
        status: 'captured',
        capturedCaptureId: 'cap_1',
        amountCaptured: 6_000,
        fee: FEE,
        net: 6_000 - FEE,
        processorChargeId: 'ch_1',
        balanceTransactionId: 'txn_1',
        updatedAt: T3,
      });
    });
  });

  describe('when refunds are requested and settled', () => {
    it('counts only succeeded refunds as refunded', () => {
      const p = paymentAfter([...capturedPayment(), refundRequested({ refund_id: 'ref_1', amount: 1_000 }), refundRequested({ refund_id: 'ref_2', amount: 2_000 }), paymentRefunded({ refund_id: 'ref_2', amount: 2_000, processor_refund_id: 're_2' })]);
      expect(p.amountRefunded).toBe(2_000);
      expect(p.status).toBe('partially_refunded');
      expect(p.refunds).toEqual([
        { refundId: 'ref_1', amount: 1_000, reason: 'requested_by_customer', status: 'pending', processorRefundId: null, requestedAt: T4 },
        { refundId: 'ref_2', amount: 2_000, reason: 'requested_by_customer', status: 'succeeded', processorRefundId: 're_2', requestedAt: T4 },
      ]);
    });

    it('is refunded when the refunds reach the captured amount, and partially refunded one minor unit short', () => {
      expect(paymentAfter([...capturedPayment(), paymentRefunded({ amount: AMOUNT })]).status).toBe('refunded');
      expect(paymentAfter([...capturedPayment(), paymentRefunded({ amount: AMOUNT - 1 })]).status).toBe('partially_refunded');
    });

    it('is refunded when the refunds reach a partial capture', () => {
      expect(paymentAfter([...capturedPayment(6_000), paymentRefunded({ amount: 6_000 })]).status).toBe('refunded');
    });

    it('marks a failed refund failed and leaves the refunded amount alone', () => {
      const p = paymentAfter([...capturedPayment(), refundRequested(), refundFailed()]);
      expect(p.refunds[0]?.status).toBe('failed');
      expect(p).toMatchObject({ status: 'captured', amountRefunded: 0 });
    });

    it('adds a refund made outside the ledger, dated by Stripe', () => {
      const p = paymentAfter([...capturedPayment(), paymentRefunded({ refund_id: 'ref_dash', amount: 500, refunded_at: '2025-03-05T00:00:00.000Z' })]);
      expect(p.refunds).toEqual([
        { refundId: 'ref_dash', amount: 500, reason: null, status: 'succeeded', processorRefundId: 're_1', requestedAt: '2025-03-05T00:00:00.000Z' },
      ]);
    });
  });

  describe('when the payment fails or is canceled', () => {
    it('holds the failure with Stripe codes', () => {
      const p = paymentAfter([paymentRequested(), paymentFailed({ decline_code: 'insufficient_funds' })]);
      expect(p).toMatchObject({
        status: 'failed',
        failure: { stage: 'authorization', code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card was declined.' },
      });
    });

    it('holds the reason Stripe gave for the cancellation', () => {
      const p = paymentAfter([...authorizedPayment(), paymentCanceled({ reason: 'expired' })]);
      expect(p).toMatchObject({ status: 'canceled', canceledReason: 'expired', cancelRequested: null });
    });
  });

  it('keeps updatedAt when a late fact is dated earlier than the last change', () => {
    const p = paymentAfter([paymentRequested({ requested_at: T3 }), paymentAuthorized({ authorized_at: T1 })]);
    expect(p.updatedAt).toBe(T3);
  });

  it('moves updatedAt to a later fact', () => {
    const p = paymentAfter([paymentRequested({ requested_at: T1 }), paymentAuthorized({ authorized_at: T3 })]);
    expect(p.updatedAt).toBe(T3);
  });

  it('does not change the state it is given', () => {
    const before = paymentAfter(authorizedPayment());
    const snapshot = structuredClone(before);
    evolve(before, paymentCaptured());
    expect(before).toEqual(snapshot);
  });

  describe('when an event breaks an invariant, which only a bug can cause', () => {
    const cases: Array<[string, PaymentEvent[]]> = [
      ['an event before PaymentRequested', [paymentAuthorized()]],
      ['a second PaymentRequested', [paymentRequested(), paymentRequested()]],
      ['net that is not amount captured minus fee', [...authorizedPayment(), paymentCaptured({ amount_captured: 1_000, fee: 30, net: 971 })]],
      ['a capture one minor unit above the authorized amount', [paymentRequested(), paymentAuthorized({ amount_authorized: 500 }), paymentCaptured({ amount_captured: 501 })]],
      ['an authorization above the payment amount', [paymentRequested(), paymentAuthorized({ amount_authorized: AMOUNT + 1 })]],
      ['refunds one minor unit above the captured amount', [...capturedPayment(), paymentRefunded({ amount: AMOUNT }), paymentRefunded({ refund_id: 'ref_2', amount: 1 })]],
      ['the same refund succeeding twice', [...capturedPayment(), paymentRefunded({ amount: 1 }), paymentRefunded({ amount: 1 })]],
      ['an authorization of a failed payment', [paymentRequested(), paymentFailed(), paymentAuthorized()]],
      ['a cancellation of a captured payment', [...capturedPayment(), paymentCanceled()]],
      ['a refund before capture', [...authorizedPayment(), refundRequested()]],
      ['a failure of a refund that is not pending', [...capturedPayment(), refundFailed()]],
    ];
    it.each(cases)('throws on %s', (_case, events) => {
      expect(() => foldPayment(events)).toThrow(/invariant/);
    });
  });
});
