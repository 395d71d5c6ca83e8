import type { PaymentRejection } from '../domain/payment.decide';
import type { ProblemCode } from '../infra/http/problem';

/** Every business rejection of the decider, mapped to its problem code. Exhaustive by construction. */
export function problemForRejection(rejection: PaymentRejection): ProblemCode {
  switch (rejection) {
    case 'payment_not_found':
      return 'payment_not_found';
    case 'capture_exceeds_authorized':
      return 'capture_exceeds_authorized';
    case 'refund_exceeds_captured':
      return 'refund_exceeds_captured';
    case 'amount_out_of_range':
    case 'amount_not_integer':
    case 'amount_not_representable':
    case 'currency_not_supported':
      return 'validation_failed';
    case 'payment_already_requested':
    case 'payment_not_authorized':
    case 'payment_not_captured':
    case 'payment_already_captured':
    case 'payment_already_canceled':
    case 'payment_already_failed':
    case 'capture_already_requested':
    case 'refund_already_requested':
    case 'fact_contradicts_stream':
      return 'invalid_state_transition';
    default: {
      const unreachable: never = rejection;
      throw new Error(`unmapped rejection ${String(unreachable)}`);
    }
  }
}
