import express from 'express';
import type { Request, Response, Router } from 'express';
import Stripe from 'stripe';
import type { EventStore } from '../ports/event-store';
import { StreamConflictError } from '../ports/event-store';
import { sendProblem } from '../infra/http/problem';
import { STRIPE_EVENT_RECEIVED, stripeEventStreamId } from '../commands/stripe-event-stream';

export interface WebhookDependencies {
  readonly store: EventStore;
  /** Every secret currently valid for the endpoint; more than one while a secret is rotated. */
  readonly secrets: readonly string[];
  readonly toleranceSeconds?: number;
  readonly bodyLimitBytes: number;
}

/**
 * Stripe's webhook intake. The signature is checked on the raw bytes; the event is stored in its
 * own stream with `no_stream`, so a redelivery is a no-op; the answer is a fast 200 and the
 * translation into payment facts happens in a job.
 */
export function stripeWebhookRouter(deps: WebhookDependencies): Router {
  const router = express.Router();
  router.post(
    '/v1/webhooks/stripe',
    express.raw({ type: () => true, limit: deps.bodyLimitBytes }),
    async (request: Request, response: Response) => {
      const raw: unknown = request.body;
      const signature = request.header('stripe-signature');
      if (!Buffer.isBuffer(raw) || raw.length === 0 || !signature) {
        sendProblem(response, 'webhook_signature_invalid', { detail: 'a signed Stripe event body is required' });
        return;
      }
      const event = verify(raw, signature, deps.secrets, deps.toleranceSeconds ?? 300);
      if (!event) {
        sendProblem(response, 'webhook_signature_invalid');
        return;
      }
      try {
        await deps.store.append(
          stripeEventStreamId(event.id),
          [
            {
              type: STRIPE_EVENT_RECEIVED,
              data: event as unknown as Record<string, unknown>,
              metadata: {
                correlation_id: request.correlationId ?? event.id,
                causation_id: event.id,
                actor: 'stripe',
                source: 'webhook',
              },
            },
          ],
          'no_stream',
        );
      } catch (error) {
        if (!(error instanceof StreamConflictError)) throw error;
      }
      response.status(200).json({ received: true });
    },
  );
  // Without this the router itself would answer OPTIONS with a 200 text/plain list of methods.
  router.all('/v1/webhooks/stripe', (_request: Request, response: Response) => {
    response.setHeader('Allow', 'POST');
    sendProblem(response, 'method_not_allowed');
  });
  return router;
}

function verify(raw: Buffer, signature: string, secrets: readonly string[], toleranceSeconds: number): Stripe.Event | null {
  for (const secret of secrets) {
    try {
      const event = Stripe.webhooks.constructEvent(raw, signature, secret, toleranceSeconds);
      if (typeof event.id === 'string' && /^evt_[A-Za-z0-9_]{1,255}$/.test(event.id)) return event;
      return null;
    } catch {
      // Try the next secret: during a rotation either may have signed it.
    }
  }
  return null;
}
