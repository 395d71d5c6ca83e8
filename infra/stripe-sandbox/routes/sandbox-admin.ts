import express, { Router } from 'express';
import { z } from 'zod';
import { cancel } from '../payment-intent-actions';
import { faultConfigSchema } from '../faults';
import type { OpContext } from '../context';
import type { PaymentIntent } from '../objects';
import { parseForm } from '../params';
import type { SandboxRuntime } from '../runtime';
import { StripeRequestError } from '../errors';
import { newId } from '../ids';

/**
 * Endpoints for tests and operators, outside Stripe's API: no API key, no fault injection. They let
 * a test look at what Stripe holds without going through the API it is testing.
 */
export function sandboxAdminRoutes(rt: SandboxRuntime, deliverPendingWebhooks: () => Promise<void>): Router {
  const router = Router();
  router.use('/__sandbox', express.json({ strict: false }));

  router.get('/__sandbox/payment_intents', async (req, res) => {
    const query = parseForm(req.originalUrl.split('?')[1] ?? '');
    const metadata = z.record(z.string(), z.string()).parse(query.metadata ?? {});
    const { rows } = await rt.pool.query<{ data: PaymentIntent }>(
      `select data from stripe_sandbox.objects where object = 'payment_intent' and data -> 'metadata' @> $1::jsonb order by seq`,
      [JSON.stringify(metadata)],
    );
    res.json({ object: 'list', count: rows.length, data: rows.map((r) => r.data) });
  });

  router.get('/__sandbox/faults', (_req, res) => {
    res.json({ faults: rt.faults.config() });
  });
  router.post('/__sandbox/faults', (req, res) => {
    const parsed = faultConfigSchema.nullable().safeParse(req.body?.faults === undefined ? req.body : req.body.faults);
    if (!parsed.success) {
      res.status(400).json({ error: { type: 'invalid_request_error', message: parsed.error.message } });
      return;
    }
    rt.faults.set(parsed.data);
    res.json({ faults: rt.faults.config() });
  });
  router.get('/__sandbox/stats', (_req, res) => {
    res.json({ faults: rt.faults.stats() });
  });

  // Deliveries to this sandbox's endpoint (or to `?url=`), oldest first; times in epoch milliseconds.
  router.get('/__sandbox/webhooks', async (req, res) => {
    const url = typeof req.query.url === 'string' ? req.query.url : rt.webhookUrl;
    const { rows } = await rt.pool.query(
      `select w.event_id, o.data ->> 'type' as type, w.endpoint_url, w.attempts, w.delivered_at::float8, w.abandoned_at::float8,
              w.next_attempt_at::float8, w.last_status, w.last_error
       from stripe_sandbox.webhook_outbox w join stripe_sandbox.objects o on o.id = w.event_id
       where w.endpoint_url = $1 order by w.id`,
      [url],
    );
    res.json({ object: 'list', count: rows.length, data: rows });
  });
  router.post('/__sandbox/webhooks/deliver', async (_req, res) => {
    await deliverPendingWebhooks();
    res.json({ delivered: true });
  });

  // Stripe cancels an authorization left uncaptured for 7 days; this does it now.
  router.post('/__sandbox/payment_intents/:id/expire', async (req, res) => {
    const client = await rt.pool.connect();
    try {
      await client.query('begin');
      const nowMs = rt.clockMs();
      const ctx: OpContext = {
        now: Math.floor(nowMs / 1000),
        requestId: newId('req', 14),
        idempotencyKey: null,
        apiVersion: '2026-10-28.endive',
        webhook: rt.webhookUrl ? { url: rt.webhookUrl, firstAttemptAtMs: nowMs } : null,
      };
      const result = await cancel(client, ctx, String(req.params.id), 'automatic', {});
      await client.query('commit');
      res.status(result.status).json(result.body);
    } catch (error) {
      await client.query('rollback');
      if (!(error instanceof StripeRequestError)) throw error;
      res.status(error.status).json(error.toResult().body);
    } finally {
      client.release();
    }
  });
  return router;
}
