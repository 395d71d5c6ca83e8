import express from 'express';
import type { Request, Response } from 'express';
import type { ApiKeyAuthenticator } from '../ports/api-keys';
import type { EventStore } from '../ports/event-store';
import { createPaymentHandler, createPaymentSchema } from '../commands/create-payment';
import { capturePaymentHandler, capturePaymentSchema } from '../commands/capture-payment';
import { cancelPaymentHandler, cancelPaymentSchema } from '../commands/cancel-payment';
import { refundPaymentHandler, refundPaymentSchema } from '../commands/refund-payment';
import type { CallContext, CommandOutcome } from '../commands/outcome';
import { sendProblem } from '../infra/http/problem';
import {
  authenticate,
  correlationId,
  httpErrorHandler,
  jsonBody,
  notFound,
  requireScope,
  validated,
} from '../infra/http/middleware';
import type { SecurityOptions } from '../infra/http/security';
import type { ApiOperations } from '../infra/telemetry';
import { security } from '../infra/http/security';
import { paymentRepresentation, refundRepresentation } from './representation';
import { problemForRejection } from './rejections';
import { idempotencyKeyOf } from './requests';
import type { WebhookDependencies } from './webhooks';
import { stripeWebhookRouter } from './webhooks';
import { reconciliationRouter } from './reconciliation';
import type { Pool } from 'pg';

export interface WriteApiDependencies {
  readonly store: EventStore;
  readonly apiKeys: ApiKeyAuthenticator;
  readonly clock: () => Date;
  readonly bodyLimitBytes: number;
  readonly logError: (message: string, error: unknown) => void;
  /** Stripe webhook intake; absent where no webhook secret is configured. */
  readonly webhooks?: Omit<WebhookDependencies, 'store' | 'bodyLimitBytes'>;
  /** Reconciliation runs and resolutions (admin scope); absent, the routes are not mounted. */
  readonly reconciliation?: { readonly pool: Pool };
  /** Rate limits, CORS, the request deadline; defaults in infra/http/security.ts. */
  readonly security?: SecurityOptions;
  /** Metrics, request log, /livez, /readyz, /metrics and the OpenAPI document (infra/telemetry.ts). */
  readonly operations?: ApiOperations;
}

const PAYMENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createWriteApi(deps: WriteApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(correlationId());
  if (deps.operations) app.use(...deps.operations.observe);
  const guard = security(deps.security);
  app.use(guard.front);
  if (deps.operations) app.use(deps.operations.routes);
  if (deps.webhooks) app.use(stripeWebhookRouter({ ...deps.webhooks, store: deps.store, bodyLimitBytes: deps.bodyLimitBytes }));

  const createPayment = createPaymentHandler(deps.store);
  const capturePayment = capturePaymentHandler(deps.store);
  const cancelPayment = cancelPaymentHandler(deps.store);
  const refundPayment = refundPaymentHandler(deps.store);
  const command = [authenticate(deps.apiKeys), guard.perKey, requireScope('payments:write'), ...jsonBody(deps.bodyLimitBytes)];

  app.post('/v1/payments', command, async (request: Request, response: Response) => {
    const input = validated(createPaymentSchema, request.body, response);
    const context = input && callContext(request, response, deps.clock);
    if (!input || !context) return;
    answer(response, await createPayment(input, context), 'payment');
  });

  app.post('/v1/payments/:id/capture', command, async (request: Request, response: Response) => {
    const paymentId = pathPaymentId(request, response);
    const input = paymentId && validated(capturePaymentSchema, request.body, response);
    const context = input && callContext(request, response, deps.clock);
    if (!paymentId || !input || !context) return;
    answer(response, await capturePayment(paymentId, input, context), 'payment');
  });

  app.post('/v1/payments/:id/cancel', command, async (request: Request, response: Response) => {
    const paymentId = pathPaymentId(request, response);
    const input = paymentId && validated(cancelPaymentSchema, request.body, response);
    const context = input && callContext(request, response, deps.clock);
    if (!paymentId || !input || !context) return;
    answer(response, await cancelPayment(paymentId, input, context), 'payment');
  });

  app.post('/v1/payments/:id/refunds', command, async (request: Request, response: Response) => {
    const paymentId = pathPaymentId(request, response);
    const input = paymentId && validated(refundPaymentSchema, request.body, response);
    const context = input && callContext(request, response, deps.clock);
    if (!paymentId || !input || !context) return;
    answer(response, await refundPayment(paymentId, input, context), 'refund');
  });

  if (deps.reconciliation) {
    app.use(
      reconciliationRouter({
        store: deps.store,
        pool: deps.reconciliation.pool,
        clock: deps.clock,
        bodyLimitBytes: deps.bodyLimitBytes,
        authenticate: [authenticate(deps.apiKeys), guard.perKey],
      }),
    );
  }

  app.use(notFound());
  app.use(httpErrorHandler(deps.logError));
  return app;
}


function pathPaymentId(request: Request, response: Response): string | undefined {
  const id = String(request.params.id);
  if (PAYMENT_ID.test(id)) return id;
  sendProblem(response, 'payment_not_found');
  return undefined;
}

function callContext(request: Request, response: Response, clock: () => Date): CallContext | undefined {
  const key = idempotencyKeyOf(request, response);
  if (key === undefined) return undefined;
  const principal = request.principal!;
  return {
    merchantId: principal.merchantId,
    actor: principal.keyId,
    idempotencyKey: key,
    correlationId: request.correlationId!,
    now: clock(),
  };
}

function answer(response: Response, outcome: CommandOutcome, shape: 'payment' | 'refund'): void {
  switch (outcome.kind) {
    case 'accepted': {
      response.locals.paymentId = outcome.payment.paymentId;
      if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
      const body =
        shape === 'refund' && outcome.refundId
          ? refundRepresentation(outcome.payment, outcome.refundId, outcome.revision, outcome.position)
          : paymentRepresentation(outcome.payment, outcome.revision, outcome.position);
      response.status(202).json(body);
      return;
    }
    case 'rejected':
      sendProblem(response, problemForRejection(outcome.rejection), { detail: outcome.detail, reason: outcome.rejection });
      return;
    case 'payment_not_found':
      sendProblem(response, 'payment_not_found');
      return;
    case 'idempotency_key_reused':
      sendProblem(response, 'idempotency_key_reused');
      return;
    default: {
      const unreachable: never = outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
