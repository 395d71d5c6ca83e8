/** What confirming with one of Stripe's test payment methods does. */
export type CardOutcome =
  | { kind: 'succeeds'; brand: string; last4: string }
  | { kind: 'declined'; code: string; declineCode?: string; message: string; last4: string }
  | { kind: 'requires_action'; last4: string };

const DECLINED = 'Your card was declined.';

export const TEST_CARDS: Readonly<Record<string, CardOutcome>> = {
  pm_card_visa: { kind: 'succeeds', brand: 'visa', last4: '4242' },
  pm_card_mastercard: { kind: 'succeeds', brand: 'mastercard', last4: '4444' },
  pm_card_chargeDeclined: { kind: 'declined', code: 'card_declined', declineCode: 'generic_decline', message: DECLINED, last4: '0002' },
  pm_card_chargeDeclinedInsufficientFunds: {
    kind: 'declined',
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
    last4: '9995',
  },
  pm_card_chargeDeclinedLostCard: { kind: 'declined', code: 'card_declined', declineCode: 'lost_card', message: DECLINED, last4: '9987' },
  pm_card_chargeDeclinedStolenCard: { kind: 'declined', code: 'card_declined', declineCode: 'stolen_card', message: DECLINED, last4: '9979' },
  pm_card_chargeDeclinedExpiredCard: {
    kind: 'declined',
    code: 'expired_card',
    declineCode: 'expired_card',
    message: 'Your card has expired.',
    last4: '0069',
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    kind: 'declined',
    code: 'incorrect_cvc',
    declineCode: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
    last4: '0127',
  },
  pm_card_chargeDeclinedProcessingError: {
    kind: 'declined',
    code: 'processing_error',
    declineCode: 'processing_error',
    message: 'An error occurred while processing your card. Try again in a little bit.',
    last4: '0119',
  },
  pm_card_threeDSecure2Required: { kind: 'requires_action', last4: '3220' },
  pm_card_authenticationRequired: { kind: 'requires_action', last4: '3184' },
};
