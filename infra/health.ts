import express from 'express';
import type { Router } from 'express';
import IORedis from 'ioredis';
import type { Pool } from 'pg';
import type { EventStore } from '../ports/event-store';
import { withTimeout } from './metrics';

/**
 * `/livez` answers for the process alone: 200 while its event loop runs. An orchestrator restarts a
 * process that fails it, so it never looks at a dependency (a database outage must not restart
 * every process at once). `/readyz` answers for the dependencies this role needs to do its work:
 * 503 as soon as one of them does not answer within its timeout, 200 again once it does; a load
 * balancer stops sending traffic meanwhile.
 */
export interface DependencyCheck {
  readonly name: string;
  /** Resolves when the dependency answered; rejects (or times out) otherwise. */
  check(): Promise<void>;
}

export interface ReadinessReport {
  readonly status: 'ready' | 'unready';
  readonly checks: Readonly<Record<string, { readonly status: 'up' | 'down'; readonly error?: string }>>;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 1000;

/** `select 1` through the pool the role works with, so that an exhausted pool also shows. */
export function postgresCheck(pool: Pool, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): DependencyCheck {
  return {
    name: 'postgres',
    async check() {
      await withTimeout(pool.query('select 1'), timeoutMs, 'postgres');
    },
  };
}

/**
 * PING on a client of its own: BullMQ's connection waits forever for Redis by design
 * (maxRetriesPerRequest: null), so it cannot tell us that Redis is gone.
 */
export function redisCheck(url: string, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): DependencyCheck & { close(): void } {
  const client = new IORedis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  client.on('error', () => undefined);
  return {
    name: 'redis',
    async check() {
      if (client.status === 'wait' || client.status === 'end') await withTimeout(client.connect(), timeoutMs, 'redis');
      const answer = await withTimeout(client.ping(), timeoutMs, 'redis');
      if (answer !== 'PONG') throw new Error(`redis answered ${answer}`);
    },
    close: () => client.disconnect(),
  };
}

/** A read of a stream that never exists: one cheap round trip to an event store that is not Postgres. */
export function eventStoreCheck(store: EventStore, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): DependencyCheck {
  return {
    name: 'event_store',
    async check() {
      await withTimeout(store.read('ledger-readyz-probe'), timeoutMs, 'event store');
    },
  };
}

export async function readiness(checks: readonly DependencyCheck[]): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (dependency) => {
      try {
        await dependency.check();
        return [dependency.name, { status: 'up' as const }] as const;
      } catch (error) {
        return [dependency.name, { status: 'down' as const, error: error instanceof Error ? error.message : String(error) }] as const;
      }
    }),
  );
  const ready = results.every(([, result]) => result.status === 'up');
  return { status: ready ? 'ready' : 'unready', checks: Object.fromEntries(results) };
}

/** GET /livez and GET /readyz. */
export function healthRouter(checks: readonly DependencyCheck[]): Router {
  const router = express.Router();
  router.get('/livez', (_request, response) => {
    response.setHeader('Cache-Control', 'no-store');
    response.status(200).json({ status: 'live', uptime_seconds: Math.floor(process.uptime()) });
  });
  router.get('/readyz', async (_request, response) => {
    const report = await readiness(checks);
    response.setHeader('Cache-Control', 'no-store');
    response.status(report.status === 'ready' ? 200 : 503).json(report);
  });
  return router;
}
