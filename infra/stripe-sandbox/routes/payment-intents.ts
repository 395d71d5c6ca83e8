import { Router } from 'express';
import { mutation, pathId, read, type Operation } from '../http';
import { listBody, pageParams } from '../lists';
import type { PaymentIntent } from '../objects';
import { rejectUnknown } from '../params';
import { cancelPaymentIntent, capturePaymentIntent } from '../payment-intent-actions';
import { confirmPaymentIntent, createPaymentIntent, intentResult, loadIntent } from '../payment-intents';
import type { SandboxRuntime } from '../runtime';
import { StripeRequestError } from '../errors';

/**
 * Stripe's search query language, reduced to what the ledger uses: metadata equality clauses
 * joined by AND, e.g. `metadata['payment_id']:'abc' AND metadata['merchant_id']:'m1'`.
 */
function metadataQuery(query: unknown): Record<string, string> {
  const clause = /^metadata\['([A-Za-z0-9_.\-:]+)'\]:'([^']*)'$/;
  const metadata: Record<string, string> = {};
  const parts = typeof query === 'string' ? query.split(/\s+AND\s+/) : [];
  for (const part of parts) {
    const match = clause.exec(part.trim());
    if (!match) {
      throw new StripeRequestError(400, { type: 'invalid_request_error', code: 'parameter_invalid_string', param: 'query', message: `unsupported search query: ${String(query)}` });
    }
    metadata[match[1]!] = match[2]!;
  }
  if (parts.length === 0) throw new StripeRequestError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: 'query', message: 'query is required' });
  return metadata;
}

export function paymentIntentRoutes(rt: SandboxRuntime): Router {
  const router = Router();
  const onIntent =
    (op: typeof confirmPaymentIntent): Operation =>
    (db, ctx, params, req) =>
      op(db, ctx, pathId(req), params);
  router.post('/v1/payment_intents', mutation(rt, createPaymentIntent));
  router.post('/v1/payment_intents/:id/confirm', mutation(rt, onIntent(confirmPaymentIntent)));
  router.post('/v1/payment_intents/:id/capture', mutation(rt, onIntent(capturePaymentIntent)));
  router.post('/v1/payment_intents/:id/cancel', mutation(rt, onIntent(cancelPaymentIntent)));
  router.get(
    '/v1/payment_intents/search',
    read(rt, async (db, params) => {
      rejectUnknown(params, ['query', 'limit', 'page', 'expand']);
      const metadata = metadataQuery(params.query);
      const limit = params.limit === undefined ? 10 : Number(params.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new StripeRequestError(400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'limit', message: 'limit must be an integer from 1 to 100' });
      }
      const { rows } = await db.query<{ data: PaymentIntent }>(
        `select data from stripe_sandbox.objects where object = 'payment_intent' and data -> 'metadata' @> $1::jsonb order by seq desc limit $2`,
        [JSON.stringify(metadata), limit + 1],
      );
      const data = rows.slice(0, limit).map((row) => row.data);
      return { status: 200, body: { object: 'search_result', url: '/v1/payment_intents/search', has_more: rows.length > limit, next_page: null, data } };
    }),
  );
  router.get(
    '/v1/payment_intents/:id',
    read(rt, async (db, params, req) => {
      rejectUnknown(params, ['expand', 'client_secret']);
      return intentResult(db, await loadIntent(db, pathId(req)), params);
    }),
  );
  router.get(
    '/v1/payment_intents',
    read(rt, async (db, params) => {
      rejectUnknown(params, ['limit', 'starting_after', 'ending_before', 'created', 'expand', 'customer']);
      const body = await listBody<PaymentIntent>(db, '/v1/payment_intents', { object: 'payment_intent', ...pageParams(params) }, params);
      return { status: 200, body };
    }),
  );
  return router;
}
