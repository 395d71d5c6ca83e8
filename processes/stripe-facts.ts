import type Stripe from 'stripe';
import { v5 as uuidv5 } from 'uuid';
import type { ProcessorFact } from '../domain/payment.commands';
import type { Payment } from '../domain/payment.state';
import { LEDGER_NAMESPACE } from '../commands/ids';

/**
 * Pure translations of Stripe objects into the facts the decider accepts. Every caller (job
 * results, webhooks, the janitor, reconciliation) goes through these, so one Stripe state always
 * becomes the same facts, and the decider drops the ones the stream already holds.
 */

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

/** A capture id for a capture the ledger did not request itself (automatic capture, dashboard). */
export function processorCaptureId(paymentIntentId: string): string {
  return uuidv5(`capture:${paymentIntentId}`, LEDGER_NAMESPACE);
}

/** The ledger's refund id: the one it put in the refund's metadata, or one derived from Stripe's id. */
export function ledgerRefundId(refund: Stripe.Refund): string {
  return refund.metadata?.refund_id ?? uuidv5(`refund:${refund.id}`, LEDGER_NAMESPACE);
}

/** The facts a PaymentIntent's current state implies; [] for states that are not facts yet. */
export function factsFromPaymentIntent(intent: Stripe.PaymentIntent, payment: Payment): ProcessorFact[] {
  switch (intent.status) {
    case 'requires_capture':
      return [authorization(intent, intent.amount_capturable)];
    case 'succeeded': {
      const charge = expandedCharge(intent);
      const balance = charge && expandedBalanceTransaction(charge);
      if (!charge || !balance) return [authorization(intent, intent.amount)];
      const captureId = payment.capture?.captureId ?? processorCaptureId(intent.id);
      const amountCaptured = charge.amount_captured;
      return [
        authorization(intent, intent.amount),
        {
          type: 'RecordCapture',
          captureId,
          processorPaymentId: intent.id,
          amountCaptured,
          fee: balance.fee,
          net: amountCaptured - balance.fee,
          processorChargeId: charge.id,
          balanceTransactionId: balance.id,
          capturedAt: iso(balance.created),
        },
      ];
    }
    case 'canceled':
      return [
        {
          type: 'RecordCancellation',
          reason: cancellationReason(intent.cancellation_reason),
          canceledAt: iso(intent.canceled_at ?? intent.created),
        },
      ];
    case 'requires_payment_method': {
      const error = intent.last_payment_error;
      if (!error) return [];
      return [
        {
          type: 'RecordFailure',
          stage: 'authorization',
          code: error.code ?? 'card_declined',
          declineCode: error.decline_code ?? null,
          message: error.message ?? 'The payment was declined.',
          failedAt: iso(intent.created),
        },
      ];
    }
    case 'requires_action':
      // There is no browser in this flow to complete 3-D Secure, so this is a failure to authorize.
      return [
        {
          type: 'RecordFailure',
          stage: 'authorization',
          code: 'authentication_required',
          declineCode: null,
          message: 'The card requires authentication, which this integration does not support.',
          failedAt: iso(intent.created),
        },
      ];
    default:
      return [];
  }
}

export function factFromRefund(refund: Stripe.Refund): ProcessorFact | null {
  if (refund.status === 'succeeded') {
    return {
      type: 'RecordRefund',
      refundId: ledgerRefundId(refund),
      amount: refund.amount,
      processorRefundId: refund.id,
      balanceTransactionId: typeof refund.balance_transaction === 'string' ? refund.balance_transaction : (refund.balance_transaction?.id ?? ''),
      refundedAt: iso(refund.created),
    };
  }
  if (refund.status === 'failed' || refund.status === 'canceled') {
    return {
      type: 'RecordRefundFailure',
      refundId: ledgerRefundId(refund),
      code: refund.failure_reason ?? refund.status,
      message: `the refund ${refund.status}`,
      failedAt: iso(refund.created),
    };
  }
  return null;
}

function authorization(intent: Stripe.PaymentIntent, amount: number): ProcessorFact {
  return {
    type: 'RecordAuthorization',
    processorPaymentId: intent.id,
    amountAuthorized: amount,
    authorizedAt: iso(intent.created),
    captureBefore: null,
  };
}

function cancellationReason(reason: Stripe.PaymentIntent.CancellationReason | null): string {
  if (reason === 'automatic') return 'expired';
  return reason ?? 'requested_by_customer';
}

function expandedCharge(intent: Stripe.PaymentIntent): Stripe.Charge | null {
  return intent.latest_charge && typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
}

function expandedBalanceTransaction(charge: Stripe.Charge): Stripe.BalanceTransaction | null {
  return charge.balance_transaction && typeof charge.balance_transaction === 'object' ? charge.balance_transaction : null;
}
