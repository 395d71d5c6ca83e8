import { given } from './support/given';
import {
  AMOUNT,
  authorizedPayment,
  canceledPayment,
  capturedPayment,
  captureRequestedPayment,
  failedPayment,
  paymentRefunded,
  paymentRequested,
  refundFailed,
  refundPayment,
  refundRequested,
  requestedPayment,
  paymentAuthorized,
  paymentCaptureRequested,
  paymentCaptured,
} from './support/builders';

describe('RefundPayment', () => {
  describe('when the payment is captured', () => {
    it('requests a refund of everything captured when no amount is given', () => {
      given(capturedPayment()).when(refundPayment()).then([refundRequested({ amount: AMOUNT })]);
    });

    it('requests a refund of exactly the captured amount', () => {
      given(capturedPayment()).when(refundPayment({ amount: AMOUNT })).then([refundRequested({ amount: AMOUNT })]);
    });

    it('rejects a refund one minor unit above the captured amount', () => {
      given(capturedPayment()).when(refundPayment({ amount: AMOUNT + 1 })).thenRejects('refund_exceeds_captured');
    });

    it('measures against the captured amount after a partial capture', () => {
      given(capturedPayment(6_000)).when(refundPayment({ amount: 6_000 })).then([refundRequested({ amount: 6_000 })]);
      given(capturedPayment(6_000)).when(refundPayment({ amount: 6_001 })).thenRejects('refund_exceeds_captured');
    });

    it('rejects a refund of zero', () => {
      given(capturedPayment()).when(refundPayment({ amount: 0 })).thenRejects('amount_out_of_range');
    });

    it('rejects a fractional refund', () => {
      given(capturedPayment()).when(refundPayment({ amount: 12.34 })).thenRejects('amount_not_integer');
    });

    it('carries the reason and time from the command', () => {
      given(capturedPayment())
        .when(refundPayment({ refundId: 'ref_9', amount: 100, reason: null, now: '2025-04-01T00:00:00.000Z' }))
        .then([refundRequested({ refund_id: 'ref_9', amount: 100, reason: null, requested_at: '2025-04-01T00:00:00.000Z' })]);
    });

    it('rejects a three-decimal refund that Stripe cannot represent', () => {
      const history = [
        paymentRequested({ currency: 'kwd', amount: 5_000 }),
        paymentAuthorized({ amount_authorized: 5_000 }),
        paymentCaptureRequested({ amount: 5_000 }),
        paymentCaptured({ amount_captured: 5_000 }),
      ];
      given(history).when(refundPayment({ amount: 1_001 })).thenRejects('amount_not_representable');
    });
  });

  describe('when a refund is pending', () => {
    const history = () => [...capturedPayment(), refundRequested({ refund_id: 'ref_1', amount: 7_000 })];

    it('counts the pending refund against what is left: the remainder passes', () => {
      given(history()).when(refundPayment({ refundId: 'ref_2', amount: 3_000 })).then([refundRequested({ refund_id: 'ref_2', amount: 3_000 })]);
    });

    it('rejects one minor unit more than the remainder', () => {
      given(history()).when(refundPayment({ refundId: 'ref_2', amount: 3_001 })).thenRejects('refund_exceeds_captured');
    });

    it('refunds only the remainder when no amount is given', () => {
      given(history()).when(refundPayment({ refundId: 'ref_2' })).then([refundRequested({ refund_id: 'ref_2', amount: 3_000 })]);
    });

    it('decides nothing for the same refund id and amount', () => {
      given(history()).when(refundPayment({ refundId: 'ref_1', amount: 7_000 })).thenNothing();
    });

    it('decides nothing for the same refund id without an amount', () => {
      given(history()).when(refundPayment({ refundId: 'ref_1', amount: null })).thenNothing();
    });

    it('rejects the same refund id with another amount', () => {
      given(history()).when(refundPayment({ refundId: 'ref_1', amount: 7_001 })).thenRejects('refund_already_requested');
    });
  });

  describe('when a refund failed', () => {
    it('frees its amount for another refund', () => {
      const history = [...capturedPayment(), refundRequested({ amount: AMOUNT }), refundFailed()];
      given(history).when(refundPayment({ refundId: 'ref_2' })).then([refundRequested({ refund_id: 'ref_2', amount: AMOUNT })]);
    });
  });

  describe('when the payment is partially refunded', () => {
    const history = () => [...capturedPayment(), refundRequested({ amount: 4_000 }), paymentRefunded({ amount: 4_000 })];

    it('accepts a refund of exactly what is left', () => {
      given(history()).when(refundPayment({ refundId: 'ref_2', amount: 6_000 })).then([refundRequested({ refund_id: 'ref_2', amount: 6_000 })]);
    });

    it('rejects one minor unit more than what is left', () => {
      given(history()).when(refundPayment({ refundId: 'ref_2', amount: 6_001 })).thenRejects('refund_exceeds_captured');
    });
  });

  describe('when the payment is fully refunded', () => {
    const history = () => [...capturedPayment(), refundRequested({ amount: AMOUNT }), paymentRefunded({ amount: AMOUNT })];

    it('rejects a refund without an amount: nothing is left', () => {
      given(history()).when(refundPayment({ refundId: 'ref_2' })).thenRejects('refund_exceeds_captured');
    });

    it('rejects a refund of one minor unit', () => {
      given(history()).when(refundPayment({ refundId: 'ref_2', amount: 1 })).thenRejects('refund_exceeds_captured');
    });

    it('decides nothing for a replay of the refund that emptied it', () => {
      given(history()).when(refundPayment({ refundId: 'ref_1', amount: AMOUNT })).thenNothing();
    });
  });

  describe('when pending refunds already claim everything captured', () => {
    it('rejects a refund without an amount', () => {
      given([...capturedPayment(), refundRequested({ amount: AMOUNT })]).when(refundPayment({ refundId: 'ref_2' })).thenRejects('refund_exceeds_captured');
    });
  });

  describe.each([
    ['requested', requestedPayment],
    ['authorized', authorizedPayment],
    ['capture-requested', () => captureRequestedPayment()],
  ])('when the payment is %s', (_situation, history) => {
    it('rejects the refund: nothing is captured yet', () => {
      given(history()).when(refundPayment()).thenRejects('payment_not_captured');
    });
  });

  describe('when the payment is canceled', () => {
    it('rejects the refund', () => {
      given(canceledPayment()).when(refundPayment()).thenRejects('payment_already_canceled');
    });
  });

  describe('when the payment failed', () => {
    it('rejects the refund', () => {
      given(failedPayment()).when(refundPayment()).thenRejects('payment_already_failed');
    });
  });

  describe('when there is no payment', () => {
    it('rejects the refund as not found', () => {
      given([]).when(refundPayment()).thenRejects('payment_not_found');
    });
  });
});
