import { given } from './support/given';
import {
  AMOUNT,
  authorizedPayment,
  canceledPayment,
  capturedPayment,
  captureRequestedPayment,
  cancelPayment,
  failedPayment,
  paymentCanceled,
  paymentCancelRequested,
  paymentRefunded,
  requestedPayment,
} from './support/builders';

describe('CancelPayment', () => {
  describe('when the payment is requested', () => {
    it('requests the cancel before the authorization is heard', () => {
      given(requestedPayment()).when(cancelPayment()).then([paymentCancelRequested()]);
    });
  });

  describe('when the payment is authorized', () => {
    it('requests the cancel with the reason and time from the command', () => {
      given(authorizedPayment())
        .when(cancelPayment({ reason: 'duplicate', now: '2025-03-02T00:00:00.000Z' }))
        .then([paymentCancelRequested({ reason: 'duplicate', requested_at: '2025-03-02T00:00:00.000Z' })]);
    });
  });

  describe('when a cancel is already requested', () => {
    it('decides nothing', () => {
      given([...authorizedPayment(), paymentCancelRequested()]).when(cancelPayment()).thenNothing();
    });

    it('decides nothing once Stripe has confirmed it', () => {
      given([...authorizedPayment(), paymentCancelRequested(), paymentCanceled()]).when(cancelPayment()).thenNothing();
    });
  });

  describe('when Stripe canceled the payment on its own', () => {
    it('rejects the cancel: the authorization expired', () => {
      given(canceledPayment()).when(cancelPayment()).thenRejects('payment_already_canceled');
    });
  });

  describe('when a capture is requested', () => {
    it('rejects the cancel', () => {
      given(captureRequestedPayment()).when(cancelPayment()).thenRejects('payment_already_captured');
    });
  });

  describe('when the payment is captured', () => {
    it('rejects the cancel', () => {
      given(capturedPayment()).when(cancelPayment()).thenRejects('payment_already_captured');
    });

    it('rejects the cancel after a partial refund', () => {
      given([...capturedPayment(), paymentRefunded({ amount: 1 })]).when(cancelPayment()).thenRejects('payment_already_captured');
    });

    it('rejects the cancel after a full refund', () => {
      given([...capturedPayment(), paymentRefunded({ amount: AMOUNT })]).when(cancelPayment()).thenRejects('payment_already_captured');
    });
  });

  describe('when the payment failed', () => {
    it('rejects the cancel', () => {
      given(failedPayment()).when(cancelPayment()).thenRejects('payment_already_failed');
    });
  });

  describe('when there is no payment', () => {
    it('rejects the cancel as not found', () => {
      given([]).when(cancelPayment()).thenRejects('payment_not_found');
    });
  });
});
