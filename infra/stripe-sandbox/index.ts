import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Pool } from 'pg';
import { createSandboxApp } from './app';
import { createFaults, type FaultConfig } from './faults';
import { silentLog, type SandboxLog, type SandboxRuntime } from './runtime';
import { createWebhookDispatcher, type WebhookEndpoint } from './webhooks';

export { stripeSandboxMigration } from './migration';
export { stripeFee } from './fees';
export { signatureHeader, type WebhookEndpoint } from './webhooks';
export { faultConfigSchema, type FaultConfig, type FaultKind } from './faults';
export type { SandboxLog } from './runtime';

export interface StripeSandboxOptions {
  pool: Pool;
  webhook?: WebhookEndpoint;
  faults?: FaultConfig;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  log?: SandboxLog;
}

export interface StripeSandbox {
  app: Express;
  listen(port: number, host?: string): Promise<{ port: number }>;
  close(): Promise<void>;
  /** One pass of webhook delivery over the events that are due. */
  deliverPendingWebhooks(): Promise<void>;
}

/**
 * A stateful local Stripe for the `stripe` SDK. State lives in the `stripe_sandbox` schema (run
 * `stripeSandboxMigration` first), so a new sandbox on the same database carries on where the last
 * one stopped. With `webhook` set, a loop delivers events from the outbox until close().
 */
export function createStripeSandbox(options: StripeSandboxOptions): StripeSandbox {
  const rt: SandboxRuntime = {
    pool: options.pool,
    clockMs: options.clock ?? Date.now,
    webhookUrl: options.webhook?.url ?? null,
    faults: createFaults(options.faults ?? null),
    log: options.log ?? silentLog,
    held: new Set(),
  };
  const dispatcher = options.webhook
    ? createWebhookDispatcher({ pool: rt.pool, endpoint: options.webhook, faults: rt.faults, clockMs: rt.clockMs, log: rt.log })
    : null;
  const deliverPendingWebhooks = async () => {
    await dispatcher?.deliverPending();
  };
  const app = createSandboxApp(rt, deliverPendingWebhooks);
  let server: Server | null = null;

  return {
    app,
    deliverPendingWebhooks,
    async listen(port, host = '127.0.0.1') {
      server = createServer(app);
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => resolve());
      });
      dispatcher?.start();
      rt.log.info('stripe-sandbox: listening', { port: (listening.address() as AddressInfo).port });
      return { port: (listening.address() as AddressInfo).port };
    },
    async close() {
      await dispatcher?.stop();
      for (const timer of rt.held) clearTimeout(timer);
      rt.held.clear();
      if (!server) return;
      const closing = server;
      server = null;
      await new Promise<void>((resolve) => {
        closing.close(() => resolve());
        closing.closeAllConnections();
      });
    },
  };
}
