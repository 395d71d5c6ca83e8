import { given } from './support/given';
import {
  AMOUNT,
  authorizedPayment,
  canceledPayment,
  capturedPayment,
  captureRequestedPayment,
  failedPayment,
  paymentAuthorized,
  paymentCanceled,
  paymentCancelRequested,
  paymentCaptured,
  paymentFailed,
  paymentRequested,
  recordAuthorization,
  recordCancellation,
  recordCapture,
  recordFailure,
  requestedPayment,
  T3,
} from './support/builders';

const captureFailed = () => paymentFailed({ stage: 'capture', code: 'capture_failed', decline_code: null, failed_at: T3 });

describe('RecordAuthorization', () => {
  describe('when the payment is requested', () => {
    it('records the authorization', () => {
      given(requestedPayment()).when(recordAuthorization()).then([paymentAuthorized()]);
    });

    it('records an authorization of the whole amount but not one minor unit more', () => {
      given(requestedPayment()).when(recordAuthorization({ amountAuthorized: AMOUNT })).then([paymentAuthorized({ amount_authorized: AMOUNT })]);
      given(requestedPayment()).when(recordAuthorization({ amountAuthorized: AMOUNT + 1 })).thenRejects('fact_contradicts_stream');
    });

    it('records the authorization even when a cancel is on its way', () => {
      given([...requestedPayment(), paymentCancelRequested()]).when(recordAuthorization()).then([paymentAuthorized()]);
    });
  });

  describe.each([
    ['authorized', authorizedPayment],
    ['captured', () => capturedPayment()],
    ['canceled', canceledPayment],
    ['failed', failedPayment],
  ])('when the payment is %s', (_status, history) => {
    it('decides nothing: the authorization is already held or stale', () => {
      given(history()).when(recordAuthorization()).thenNothing();
    });
  });

  describe('when there is no payment', () => {
    it('rejects the fact as not found', () => {
      given([]).when(recordAuthorization()).thenRejects('payment_not_found');
    });
  });
});

describe('RecordCapture', () => {
  describe('when the payment is authorized', () => {
    it('records the capture that was requested', () => {
      given(captureRequestedPayment()).when(recordCapture()).then([paymentCaptured()]);
    });

    it('records an automatic capture that nobody requested through the ledger', () => {
      given(authorizedPayment()).when(recordCapture({ captureId: 'auto_1' })).then([paymentCaptured({ capture_id: 'auto_1' })]);
    });

    it('records a capture of exactly the authorized amount, and refuses one minor unit more', () => {
      given(authorizedPayment()).when(recordCapture({ amountCaptured: AMOUNT })).then([paymentCaptured({ amount_captured: AMOUNT })]);
      given(authorizedPayment()).when(recordCapture({ amountCaptured: AMOUNT + 1 })).thenRejects('fact_contradicts_stream');
    });

    it('takes fee and net from the fact', () => {
      given(authorizedPayment())
        .when(recordCapture({ amountCaptured: 5_000, fee: 175 }))
        .then([paymentCaptured({ amount_captured: 5_000, fee: 175, net: 4_825 })]);
    });

    it('crashes on a fact whose net is not amount captured minus fee: that is our own bug', () => {
      given(authorizedPayment()).when(recordCapture({ amountCaptured: 5_000, fee: 175, net: 4_826 })).thenThrows(/invariant/);
    });

    it('crashes on a negative fee', () => {
      given(authorizedPayment()).when(recordCapture({ fee: -1 })).thenThrows(/invariant/);
    });
  });

  describe('when the capture fact arrives before the authorization fact', () => {
    it('records the implied authorization of the whole amount, then the capture', () => {
      given(requestedPayment())
        .when(recordCapture({ processorPaymentId: 'pi_auto' }))
        .then([
          paymentAuthorized({ processor_payment_id: 'pi_auto', amount_authorized: AMOUNT, authorized_at: T3, capture_before: null }),
          paymentCaptured(),
        ]);
    });

    it('refuses a capture one minor unit above the payment amount', () => {
      given(requestedPayment()).when(recordCapture({ amountCaptured: AMOUNT + 1 })).thenRejects('fact_contradicts_stream');
    });

    it('then ignores the late authorization fact', () => {
      const history = [...requestedPayment(), paymentAuthorized({ authorized_at: T3, capture_before: null }), paymentCaptured()];
      given(history).when(recordAuthorization()).thenNothing();
    });
  });

  describe('when the payment is captured', () => {
    it('decides nothing for the same capture id', () => {
      given(capturedPayment()).when(recordCapture()).thenNothing();
    });

    it('decides nothing for the same charge reported under another capture id', () => {
      given(capturedPayment()).when(recordCapture({ captureId: 'evt_derived' })).thenNothing();
    });

    it('rejects the same capture with another amount', () => {
      given(capturedPayment()).when(recordCapture({ amountCaptured: AMOUNT - 1 })).thenRejects('fact_contradicts_stream');
    });

    it('rejects a second, different capture', () => {
      given(capturedPayment()).when(recordCapture({ captureId: 'cap_2', processorChargeId: 'ch_2' })).thenRejects('fact_contradicts_stream');
    });
  });

  describe('when the payment is canceled', () => {
    it('rejects the capture as contradicting the stream', () => {
      given(canceledPayment()).when(recordCapture()).thenRejects('fact_contradicts_stream');
    });
  });

  describe('when the payment failed', () => {
    it('rejects the capture: a failed payment stays failed', () => {
      given(failedPayment()).when(recordCapture()).thenRejects('fact_contradicts_stream');
      given([...captureRequestedPayment(), captureFailed()]).when(recordCapture()).thenRejects('fact_contradicts_stream');
    });
  });
});

describe('RecordFailure', () => {
  describe('when the payment is requested', () => {
    it('records a declined authorization with Stripe codes', () => {
      given(requestedPayment())
        .when(recordFailure({ code: 'card_declined', declineCode: 'insufficient_funds', message: 'Insufficient funds.' }))
        .then([paymentFailed({ code: 'card_declined', decline_code: 'insufficient_funds', message: 'Insufficient funds.' })]);
    });

    it('decides nothing for a capture failure: the payment never reached capture', () => {
      given(requestedPayment()).when(recordFailure({ stage: 'capture' })).thenNothing();
    });
  });

  describe('when the payment is authorized', () => {
    it('ignores a stale authorization failure', () => {
      given(authorizedPayment()).when(recordFailure()).thenNothing();
    });

    it('records a capture failure', () => {
      given(captureRequestedPayment())
        .when(recordFailure({ stage: 'capture', code: 'capture_failed', declineCode: null, failedAt: T3 }))
        .then([captureFailed()]);
    });
  });

  describe.each([
    ['captured', () => capturedPayment()],
    ['canceled', canceledPayment],
  ])('when the payment is %s', (_status, history) => {
    it.each(['authorization', 'capture'] as const)('ignores a late %s failure', (stage) => {
      given(history()).when(recordFailure({ stage })).thenNothing();
    });
  });

  describe('when the payment failed', () => {
    it.each(['authorization', 'capture'] as const)('decides nothing for another %s failure', (stage) => {
      given(failedPayment()).when(recordFailure({ stage })).thenNothing();
    });
  });
});

describe('RecordCancellation', () => {
  describe.each([
    ['requested', requestedPayment],
    ['authorized', authorizedPayment],
    ['capture-requested', () => captureRequestedPayment()],
  ])('when the payment is %s', (_situation, history) => {
    it('records the cancellation', () => {
      given(history()).when(recordCancellation({ reason: 'expired' })).then([paymentCanceled({ reason: 'expired' })]);
    });
  });

  describe('when a cancel was requested', () => {
    it('records the confirmation', () => {
      given([...authorizedPayment(), paymentCancelRequested()]).when(recordCancellation()).then([paymentCanceled()]);
    });
  });

  describe('when the payment is canceled', () => {
    it('decides nothing', () => {
      given(canceledPayment()).when(recordCancellation()).thenNothing();
    });
  });

  describe('when the payment is captured', () => {
    it('rejects the cancellation as contradicting the stream', () => {
      given(capturedPayment()).when(recordCancellation()).thenRejects('fact_contradicts_stream');
    });
  });

  describe('when the payment failed', () => {
    it('decides nothing: Stripe cancels a declined PaymentIntent, the payment stays failed', () => {
      given(failedPayment()).when(recordCancellation()).thenNothing();
    });
  });

  describe('when there is no payment', () => {
    it('rejects the fact as not found', () => {
      given([]).when(recordCancellation()).thenRejects('payment_not_found');
    });
  });
});

describe('a failed payment', () => {
  it('stays failed whatever Stripe reports next', () => {
    const history = [paymentRequested(), paymentFailed()];
    given(history).when(recordAuthorization()).thenNothing();
    given(history).when(recordCancellation()).thenNothing();
    given(history).when(recordFailure({ stage: 'capture' })).thenNothing();
    given(history).when(recordCapture()).thenRejects('fact_contradicts_stream');
  });
});
