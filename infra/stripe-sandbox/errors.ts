/** Stripe's v1 error body: `{ error: { type, code, decline_code, message, param, ... } }`. */
export interface StripeErrorBody {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: unknown;
  [extra: string]: unknown;
}

/** What a route answers: an HTTP status and a JSON body. Mutations save it for idempotent replay. */
export interface ApiResult {
  status: number;
  body: unknown;
}

/**
 * A request Stripe refuses before changing anything (400, 401, 404). Thrown from inside a
 * transaction it rolls the transaction back, and the idempotency layer does not save it.
 */
export class StripeRequestError extends Error {
  constructor(
    readonly status: number,
    readonly error: StripeErrorBody,
  ) {
    super(error.message);
  }

  toResult(): ApiResult {
    return { status: this.status, body: { error: this.error } };
  }
}

export function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
}

export function invalidRequest(message: string, extra: { code?: string; param?: string } = {}): StripeRequestError {
  const error: StripeErrorBody = { type: 'invalid_request_error', message, ...extra };
  if (extra.code) error.doc_url = docUrl(extra.code);
  return new StripeRequestError(400, error);
}

export function resourceMissing(kind: string, id: string, param = 'id'): StripeRequestError {
  return new StripeRequestError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    doc_url: docUrl('resource_missing'),
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

export function unexpectedState(message: string): StripeRequestError {
  return invalidRequest(message, { code: 'payment_intent_unexpected_state' });
}

export function apiErrorResult(message = 'An unknown error occurred'): ApiResult {
  return { status: 500, body: { error: { type: 'api_error', message } } };
}
