import { given } from './support/given';
import {
  AMOUNT,
  authorizedPayment,
  canceledPayment,
  capturedPayment,
  failedPayment,
  paymentRefunded,
  recordRefund,
  recordRefundFailure,
  refundFailed,
  refundRequested,
  requestedPayment,
} from './support/builders';

describe('RecordRefund', () => {
  describe('when a refund is pending', () => {
    const history = () => [...capturedPayment(), refundRequested({ amount: 2_500 })];

    it('records that it succeeded', () => {
      given(history()).when(recordRefund({ amount: 2_500 })).then([paymentRefunded({ amount: 2_500 })]);
    });
  });

  describe('when the refund already succeeded', () => {
    const history = () => [...capturedPayment(), refundRequested({ amount: 2_500 }), paymentRefunded({ amount: 2_500 })];

    it('decides nothing for the same refund id', () => {
      given(history()).when(recordRefund({ amount: 2_500 })).thenNothing();
    });

    it('decides nothing for the same Stripe refund reported under another id', () => {
      given(history()).when(recordRefund({ refundId: 'ref_from_webhook', amount: 2_500 })).thenNothing();
    });

    it('rejects the same refund with another amount', () => {
      given(history()).when(recordRefund({ amount: 2_501 })).thenRejects('fact_contradicts_stream');
    });
  });

  describe('when the refund was made in the Stripe dashboard', () => {
    it('records it although the ledger never requested it', () => {
      given(capturedPayment())
        .when(recordRefund({ refundId: 'ref_dash', processorRefundId: 're_dash', amount: 1_000 }))
        .then([paymentRefunded({ refund_id: 'ref_dash', processor_refund_id: 're_dash', amount: 1_000 })]);
    });

    it('records one that refunds exactly what was captured', () => {
      given(capturedPayment()).when(recordRefund({ refundId: 'ref_dash', processorRefundId: 're_dash', amount: AMOUNT }))
        .then([paymentRefunded({ refund_id: 'ref_dash', processor_refund_id: 're_dash', amount: AMOUNT })]);
    });

    it('rejects one minor unit more than what was captured', () => {
      given(capturedPayment()).when(recordRefund({ refundId: 'ref_dash', processorRefundId: 're_dash', amount: AMOUNT + 1 })).thenRejects('fact_contradicts_stream');
    });

    it('rejects one minor unit more than what is left after earlier refunds', () => {
      const history = [...capturedPayment(), paymentRefunded({ amount: 4_000 })];
      given(history).when(recordRefund({ refundId: 'ref_2', processorRefundId: 're_2', amount: 6_001 })).thenRejects('fact_contradicts_stream');
      given(history).when(recordRefund({ refundId: 'ref_2', processorRefundId: 're_2', amount: 6_000 }))
        .then([paymentRefunded({ refund_id: 'ref_2', processor_refund_id: 're_2', amount: 6_000 })]);
    });

    it('records it even when pending ledger refunds claim the rest: Stripe has the money, those will fail', () => {
      const history = [...capturedPayment(), refundRequested({ amount: AMOUNT })];
      given(history).when(recordRefund({ refundId: 'ref_dash', processorRefundId: 're_dash', amount: 1_000 }))
        .then([paymentRefunded({ refund_id: 'ref_dash', processor_refund_id: 're_dash', amount: 1_000 })]);
    });
  });

  describe('when the refund had been reported as failed', () => {
    it('records that it succeeded after all', () => {
      const history = [...capturedPayment(), refundRequested({ amount: 2_500 }), refundFailed()];
      given(history).when(recordRefund({ amount: 2_500 })).then([paymentRefunded({ amount: 2_500 })]);
    });
  });

  describe.each([
    ['requested', requestedPayment],
    ['authorized', authorizedPayment],
  ])('when the payment is %s', (_status, history) => {
    it('rejects the refund until the capture fact arrives', () => {
      given(history()).when(recordRefund()).thenRejects('payment_not_captured');
    });
  });

  describe.each([
    ['canceled', canceledPayment],
    ['failed', failedPayment],
  ])('when the payment is %s', (_status, history) => {
    it('rejects the refund as contradicting the stream', () => {
      given(history()).when(recordRefund()).thenRejects('fact_contradicts_stream');
    });
  });
});

describe('RecordRefundFailure', () => {
  describe('when the refund is pending', () => {
    it('records the failure, which frees its amount', () => {
      given([...capturedPayment(), refundRequested()]).when(recordRefundFailure()).then([refundFailed()]);
    });
  });

  describe('when the refund already failed', () => {
    it('decides nothing', () => {
      given([...capturedPayment(), refundRequested(), refundFailed()]).when(recordRefundFailure()).thenNothing();
    });
  });

  describe('when the refund succeeded', () => {
    it('decides nothing: a final refund stays final', () => {
      given([...capturedPayment(), refundRequested(), paymentRefunded()]).when(recordRefundFailure()).thenNothing();
    });
  });

  describe('when the refund is unknown', () => {
    it('decides nothing', () => {
      given(capturedPayment()).when(recordRefundFailure({ refundId: 'ref_unknown' })).thenNothing();
    });
  });
});
