import express, { type Express } from 'express';
import { authenticate, errorHandler, injectFaults, parseParams } from './http';
import { balanceTransactionRoutes } from './routes/balance-transactions';
import { chargeRoutes } from './routes/charges';
import { eventRoutes } from './routes/events';
import { paymentIntentRoutes } from './routes/payment-intents';
import { refundRoutes } from './routes/refunds';
import { sandboxAdminRoutes } from './routes/sandbox-admin';
import type { SandboxRuntime } from './runtime';

/** Stripe's API under /v1 (key, faults, bracket-notation params, in that order); the admin endpoints beside it. */
export function createSandboxApp(rt: SandboxRuntime, deliverPendingWebhooks: () => Promise<void>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(sandboxAdminRoutes(rt, deliverPendingWebhooks));
  app.use('/v1', authenticate(), injectFaults(rt), express.text({ type: () => true, limit: '1mb' }), parseParams());
  app.use(paymentIntentRoutes(rt));
  app.use(refundRoutes(rt));
  app.use(chargeRoutes(rt));
  app.use(balanceTransactionRoutes(rt));
  app.use(eventRoutes(rt));
  app.use('/v1', (req, res) => {
    res.status(404).json({ error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.originalUrl}).` } });
  });
  app.use(errorHandler(rt));
  return app;
}
