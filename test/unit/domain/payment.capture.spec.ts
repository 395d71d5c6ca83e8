import { given } from './support/given';
import {
  AMOUNT,
  authorizedPayment,
  canceledPayment,
  capturedPayment,
  captureRequestedPayment,
  capturePayment,
  failedPayment,
  paymentAuthorized,
  paymentCancelRequested,
  paymentCaptureRequested,
  paymentCaptured,
  paymentFailed,
  paymentRefunded,
  paymentRequested,
  requestedPayment,
} from './support/builders';

describe('CapturePayment', () => {
  describe('when the payment is authorized', () => {
    it('requests a capture of everything authorized when no amount is given', () => {
      given(authorizedPayment()).when(capturePayment()).then([paymentCaptureRequested({ amount: AMOUNT })]);
    });

    it('requests a capture of exactly the authorized amount', () => {
      given(authorizedPayment()).when(capturePayment({ amount: AMOUNT })).then([paymentCaptureRequested({ amount: AMOUNT })]);
    });

    it('rejects a capture one minor unit above the authorized amount', () => {
      given(authorizedPayment()).when(capturePayment({ amount: AMOUNT + 1 })).thenRejects('capture_exceeds_authorized');
    });

    it('requests a partial capture of one minor unit; the remainder is released', () => {
      given(authorizedPayment()).when(capturePayment({ amount: 1 })).then([paymentCaptureRequested({ amount: 1 })]);
    });

    it('rejects a capture of zero', () => {
      given(authorizedPayment()).when(capturePayment({ amount: 0 })).thenRejects('amount_out_of_range');
    });

    it('rejects a fractional capture', () => {
      given(authorizedPayment()).when(capturePayment({ amount: 99.5 })).thenRejects('amount_not_integer');
    });

    it('measures against the authorized amount, not the requested one', () => {
      const history = [paymentRequested(), paymentAuthorized({ amount_authorized: 8_000 })];
      given(history).when(capturePayment({ amount: 8_000 })).then([paymentCaptureRequested({ amount: 8_000 })]);
      given(history).when(capturePayment({ amount: 8_001 })).thenRejects('capture_exceeds_authorized');
      given(history).when(capturePayment()).then([paymentCaptureRequested({ amount: 8_000 })]);
    });

    it('rejects a three-decimal capture that Stripe cannot represent', () => {
      const history = [paymentRequested({ currency: 'kwd', amount: 5_000 }), paymentAuthorized({ amount_authorized: 5_000 })];
      given(history).when(capturePayment({ amount: 2_505 })).thenRejects('amount_not_representable');
      given(history).when(capturePayment({ amount: 2_500 })).then([paymentCaptureRequested({ amount: 2_500 })]);
    });
  });

  describe('when a capture is already requested', () => {
    it('decides nothing for the same capture id and amount', () => {
      given(captureRequestedPayment(4_000)).when(capturePayment({ amount: 4_000 })).thenNothing();
    });

    it('decides nothing for the same capture id without an amount', () => {
      given(captureRequestedPayment(4_000)).when(capturePayment({ amount: null })).thenNothing();
    });

    it('rejects the same capture id with another amount', () => {
      given(captureRequestedPayment(4_000)).when(capturePayment({ amount: 4_001 })).thenRejects('capture_already_requested');
    });

    it('rejects a second capture under another id', () => {
      given(captureRequestedPayment()).when(capturePayment({ captureId: 'cap_2' })).thenRejects('capture_already_requested');
    });
  });

  describe('when the payment is only requested', () => {
    it('rejects the capture: nothing is authorized yet', () => {
      given(requestedPayment()).when(capturePayment()).thenRejects('payment_not_authorized');
    });
  });

  describe('when the payment is captured', () => {
    it('rejects a capture under a new id', () => {
      given(capturedPayment()).when(capturePayment({ captureId: 'cap_2' })).thenRejects('payment_already_captured');
    });

    it('decides nothing for a replay of the capture that was requested', () => {
      given(capturedPayment()).when(capturePayment()).thenNothing();
    });

    it('rejects a capture of an automatically captured payment', () => {
      const history = [paymentRequested({ capture_method: 'automatic' }), paymentAuthorized(), paymentCaptured({ capture_id: 'auto_1' })];
      given(history).when(capturePayment()).thenRejects('payment_already_captured');
    });
  });

  describe('when the payment is refunded', () => {
    it('rejects a capture', () => {
      const history = [...capturedPayment(), paymentRefunded({ amount: AMOUNT })];
      given(history).when(capturePayment({ captureId: 'cap_2' })).thenRejects('payment_already_captured');
    });
  });

  describe('when the payment is canceled', () => {
    it('rejects a capture', () => {
      given(canceledPayment()).when(capturePayment()).thenRejects('payment_already_canceled');
    });
  });

  describe('when a cancel is requested', () => {
    it('rejects a capture', () => {
      given([...authorizedPayment(), paymentCancelRequested()]).when(capturePayment()).thenRejects('payment_already_canceled');
    });
  });

  describe('when the payment failed', () => {
    it('rejects a capture after a declined authorization', () => {
      given(failedPayment()).when(capturePayment()).thenRejects('payment_already_failed');
    });

    it('rejects a new capture after a failed capture', () => {
      const history = [...captureRequestedPayment(), paymentFailed({ stage: 'capture' })];
      given(history).when(capturePayment({ captureId: 'cap_2' })).thenRejects('payment_already_failed');
    });
  });

  describe('when there is no payment', () => {
    it('rejects the capture as not found', () => {
      given([]).when(capturePayment()).thenRejects('payment_not_found');
    });
  });
});
