import { MAX_AMOUNT } from '../../../domain';
import { given } from './support/given';
import {
  authorizedPayment,
  canceledPayment,
  capturedPayment,
  failedPayment,
  paymentRequested,
  requestedPayment,
  requestPayment,
} from './support/builders';

describe('RequestPayment', () => {
  describe('when the stream is empty', () => {
    it('records the payment as requested, with the time and ids from the command', () => {
      given([]).when(requestPayment()).then([paymentRequested()]);
    });

    it('accepts one minor unit', () => {
      given([]).when(requestPayment({ amount: 1 })).then([paymentRequested({ amount: 1 })]);
    });

    it('accepts the maximum amount', () => {
      given([]).when(requestPayment({ amount: MAX_AMOUNT })).then([paymentRequested({ amount: MAX_AMOUNT })]);
    });

    it('rejects zero', () => {
      given([]).when(requestPayment({ amount: 0 })).thenRejects('amount_out_of_range');
    });

    it('rejects one minor unit above the maximum', () => {
      given([]).when(requestPayment({ amount: MAX_AMOUNT + 1 })).thenRejects('amount_out_of_range');
    });

    it('rejects a fractional amount', () => {
      given([]).when(requestPayment({ amount: 1000.5 })).thenRejects('amount_not_integer');
    });

    it('rejects a currency Stripe does not support', () => {
      given([]).when(requestPayment({ currency: 'xyz' })).thenRejects('currency_not_supported');
    });

    it('stores the currency in lowercase', () => {
      given([]).when(requestPayment({ currency: 'EUR' })).then([paymentRequested({ currency: 'eur' })]);
    });

    it('takes a zero-decimal amount as whole units', () => {
      given([]).when(requestPayment({ amount: 500, currency: 'jpy' })).then([paymentRequested({ amount: 500, currency: 'jpy' })]);
    });

    it('rejects a three-decimal amount that is not a multiple of 10', () => {
      given([]).when(requestPayment({ amount: 1_005, currency: 'kwd' })).thenRejects('amount_not_representable');
      given([]).when(requestPayment({ amount: 1_010, currency: 'kwd' })).then([paymentRequested({ amount: 1_010, currency: 'kwd' })]);
    });
  });

  describe.each([
    ['requested', requestedPayment],
    ['authorized', authorizedPayment],
    ['captured', () => capturedPayment()],
    ['canceled', canceledPayment],
    ['failed', failedPayment],
  ])('when the payment is %s', (_status, history) => {
    it('rejects a second request: replays are answered by the command handler', () => {
      given(history()).when(requestPayment()).thenRejects('payment_already_requested');
    });
  });
});
