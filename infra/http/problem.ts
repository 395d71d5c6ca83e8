import type { Response } from 'express';
import { maskCardNumbers } from '../../domain/card-number';
import { redact } from '../logger';

/**
 * RFC 9457 problem details with a stable `code`. Both APIs answer every error through this one
 * function, so the status for a code is decided in exactly one place.
 */
export const PROBLEM_STATUS = {
  validation_failed: 400,
  malformed_json: 400,
  idempotency_key_missing: 400,
  card_data_not_accepted: 400,
  webhook_signature_invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  payment_not_found: 404,
  account_not_found: 404,
  discrepancy_not_found: 404,
  run_not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  invalid_state_transition: 409,
  discrepancy_not_open: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  capture_exceeds_authorized: 422,
  refund_exceeds_captured: 422,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal_error: 500,
  request_timeout: 503,
} as const;

export type ProblemCode = keyof typeof PROBLEM_STATUS;

const TITLES: Record<ProblemCode, string> = {
  validation_failed: 'The request is not valid',
  malformed_json: 'The body is not valid JSON',
  idempotency_key_missing: 'An Idempotency-Key header is required',
  card_data_not_accepted: 'Card numbers are not accepted; send a payment method token',
  webhook_signature_invalid: 'The Stripe-Signature header does not verify',
  unauthorized: 'A valid API key is required',
  forbidden: 'The API key lacks the scope for this call',
  payment_not_found: 'No such payment',
  account_not_found: 'No such ledger account',
  discrepancy_not_found: 'No such reconciliation discrepancy',
  run_not_found: 'No such reconciliation run',
  route_not_found: 'No such route',
  method_not_allowed: 'Method not allowed on this route',
  invalid_state_transition: 'The payment is not in a state that allows this',
  discrepancy_not_open: 'The discrepancy was already healed or resolved',
  payload_too_large: 'The body is too large',
  unsupported_media_type: 'The body must be application/json',
  capture_exceeds_authorized: 'The capture exceeds the authorized amount',
  refund_exceeds_captured: 'The refunds would exceed the captured amount',
  idempotency_key_reused: 'This Idempotency-Key was used with a different request',
  rate_limited: 'Too many requests',
  internal_error: 'Internal error',
  request_timeout: 'The request took too long; retry it with the same Idempotency-Key',
};

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export interface ProblemExtras {
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  readonly [extra: string]: unknown;
}

export function problemBody(code: ProblemCode, instance: string, extras: ProblemExtras = {}) {
  return {
    type: `urn:payment-ledger:problem:${code}`,
    title: TITLES[code],
    status: PROBLEM_STATUS[code],
    code,
    instance,
    ...extras,
  };
}

export function sendProblem(response: Response, code: ProblemCode, extras: ProblemExtras = {}): void {
  // Whatever a detail or a field error quotes from the request, a card number or a secret in it
  // is masked here, the one place every error body passes through.
  const body = JSON.stringify(problemBody(code, maskCardNumbers(response.req.originalUrl.split('?')[0] ?? '/'), extras));
  response.status(PROBLEM_STATUS[code]).type('application/problem+json').send(redact(body));
}
