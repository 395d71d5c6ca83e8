import type { Server } from 'node:http';
import express from 'express';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Pool } from 'pg';
import swaggerUi from 'swagger-ui-express';
import type { EventStore, RecordedEvent } from '../ports/event-store';
import type { Projection, RunnerOptions } from '../projections';
import { readCheckpoint } from '../projections/checkpoints';
import { PAYMENT_STATUSES } from '../read-api/params';
import type { SagaJob } from '../processes/jobs';
import type { HandlerResult } from '../processes/handlers/context';
import type { JanitorReport } from '../processes/janitor';
import type { StripeGateway } from '../processes/stripe-gateway';
import type { DependencyCheck } from './health';
import { eventStoreCheck, healthRouter, postgresCheck, redisCheck } from './health';
import type { LedgerMetrics } from './metrics';
import { createMetrics, httpMetrics, instrumentEventStore, metricsHandler, routeTemplate, countDiscrepancies } from './metrics';
import type { Api, OpenApiDocument } from './openapi';
import { openApiDocument } from './openapi';

/**
 * Wiring of metrics, logs and health into the parts, through the hooks each part offers; chosen in
 * the composition root (infra/system.ts) and reused by the tests that check them.
 */
export type TelemetryLog = (level: 'info' | 'warn' | 'error', message: string, meta?: Record<string, unknown>) => void;

// ---- HTTP ----------------------------------------------------------------------------------------

/** What each API serves besides its own routes. */
export interface ApiOperations {
  /** Mounted right after the correlation id: RED metrics and the request log. */
  readonly observe: readonly RequestHandler[];
  /** GET /livez, /readyz, /metrics, /openapi.json and the Swagger UI under /docs. */
  readonly routes: Router;
}

export interface ApiOperationsOptions {
  readonly metrics: LedgerMetrics;
  readonly checks: readonly DependencyCheck[];
  readonly document: OpenApiDocument;
  readonly log?: TelemetryLog;
}

const OPERATIONS_PATHS = new Set(['/livez', '/readyz', '/metrics', '/openapi.json']);

export function apiOperations(options: ApiOperationsOptions): ApiOperations {
  const routes = express.Router();
  routes.use(healthRouter(options.checks));
  routes.get('/metrics', metricsHandler(options.metrics));
  routes.get('/openapi.json', (_request, response) => {
    response.json(options.document);
  });
  routes.use('/docs', swaggerUi.serveFiles(options.document), swaggerUi.setup(options.document, { customSiteTitle: options.document.info.title }));
  return {
    observe: [httpMetrics(options.metrics), ...(options.log ? [requestLog(options.log)] : [])],
    routes,
  };
}

/**
 * One line per API request, with the correlation id and, where the request concerns a payment,
 * its id: the first step of a payment's path through the logs. Probes and scrapes are not logged.
 */
export function requestLog(log: TelemetryLog): RequestHandler {
  return (request: Request, response: Response, next) => {
    const started = process.hrtime.bigint();
    response.once('finish', () => {
      const route = routeTemplate(request);
      if (OPERATIONS_PATHS.has(route) || request.path.startsWith('/docs')) return;
      const paymentId = response.locals.paymentId ?? (typeof request.params?.id === 'string' ? request.params.id : undefined);
      log(response.statusCode >= 500 ? 'error' : 'info', 'http request', {
        method: request.method,
        route,
        status: response.statusCode,
        duration_seconds: Number(process.hrtime.bigint() - started) / 1e9,
        correlation_id: request.correlationId,
        ...(paymentId ? { payment_id: paymentId } : {}),
        ...(response.getHeader('idempotent-replayed') === 'true' ? { idempotent_replayed: true } : {}),
      });
    });
    next();
  };
}

export interface OperationsServer {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The small HTTP server of a role without an API (processes on 9464, projections on 9465, DESIGN
 * section 1): /metrics for Prometheus, /livez and /readyz for the orchestrator.
 */
export async function startOperationsServer(options: {
  readonly host: string;
  readonly port: number;
  readonly metrics: LedgerMetrics;
  readonly checks: readonly DependencyCheck[];
}): Promise<OperationsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics(options.metrics));
  app.use(healthRouter(options.checks));
  app.get('/metrics', metricsHandler(options.metrics));
  app.use((_request, response) => void response.status(404).json({ status: 404, code: 'route_not_found' }));
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port, options.host, () => resolve(listening));
    listening.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- the saga ------------------------------------------------------------------------------------

/** The `onResult` and `onJanitor` hooks of the processes role. */
export function sagaHooks(metrics: LedgerMetrics, log: TelemetryLog) {
  return {
    onResult(job: SagaJob, result: HandlerResult | 'retry' | 'waiting') {
      metrics.sagaJobs.inc({ job: job.name, result });
    },
    onJanitor(report: JanitorReport) {
      metrics.stuckPayments.set(report.stuck);
      metrics.janitorRedispatched.inc(report.redispatched);
      if (report.stuck > 0) log('warn', 'saga work is stuck', { stuck: report.stuck, redispatched: report.redispatched });
    },
    onReconciliationRun(discrepancies: readonly { readonly kind: string }[]) {
      countDiscrepancies(metrics, discrepancies);
    },
  };
}

export interface WatchedProcesses {
  readonly gateway: StripeGateway;
  jobCounts?(): Promise<Record<string, number>>;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/** Stripe calls and the breaker from the gateway; the backlog from the queue and from saga_work. */
export function watchProcesses(metrics: LedgerMetrics, running: WatchedProcesses, pool: Pool): void {
  running.gateway.onOutcome((operation, outcome) => metrics.stripeCalls.inc({ operation, outcome }));
  metrics.sample('breakerState', () => metrics.breakerState.set(running.gateway.state()));
  const jobCounts = running.jobCounts?.bind(running);
  if (jobCounts) {
    metrics.sample('sagaQueueJobs', async () => {
      const counts = await jobCounts();
      metrics.sagaQueueJobs.reset();
      for (const state of QUEUE_STATES) metrics.sagaQueueJobs.set({ state }, counts[state] ?? 0);
    });
  }
  metrics.sample('sagaOpenWork', async () => {
    const { rows } = await pool.query<{ pending: number; dispatched: number }>(
      'select count(*) filter (where dispatched_at is null)::int as pending, count(*) filter (where dispatched_at is not null)::int as dispatched from saga_work',
    );
    metrics.sagaOpenWork.set({ stage: 'pending' }, rows[0]?.pending ?? 0);
    metrics.sagaOpenWork.set({ stage: 'dispatched' }, rows[0]?.dispatched ?? 0);
  });
}

// ---- projections ---------------------------------------------------------------------------------

export interface ObservedProjection {
  readonly projection: Projection;
  readonly hooks: Pick<RunnerOptions, 'onBatch' | 'onError'>;
}

/**
 * The projection with its committed events counted and logged. Events are held back while their
 * batch is open and reported from `onBatch`, which the runner calls only after the commit: a batch
 * that rolls back (and is retried) is neither counted nor logged twice.
 */
export function observeProjection(projection: Projection, metrics: LedgerMetrics, log: TelemetryLog): ObservedProjection {
  let batch: RecordedEvent[] = [];
  return {
    projection: {
      ...projection,
      async apply(event, tx) {
        await projection.apply(event, tx);
        batch.push(event);
      },
    },
    hooks: {
      onBatch() {
        const committed = batch;
        batch = [];
        metrics.projectionEvents.inc({ projection: projection.name }, committed.length);
        for (const event of committed) {
          if (event.streamId.startsWith('payment-')) {
            if (projection.name === 'payments') metrics.paymentEvents.inc({ type: event.type });
            log('info', 'projection applied event', {
              projection: projection.name,
              event_type: event.type,
              revision: event.revision,
              payment_id: event.streamId.slice('payment-'.length),
              correlation_id: event.metadata.correlation_id,
            });
          }
        }
      },
      onError() {
        batch = [];
      },
    },
  };
}

/** How many events to look ahead of a checkpoint when sampling lag; a lag beyond it shows as this. */
export const LAG_WINDOW = 5000;

/**
 * Projection lag through the event store port, so that it holds for either adapter: the events
 * after each checkpoint (up to LAG_WINDOW) and the age of the oldest of them.
 */
export function watchProjectionLag(
  metrics: LedgerMetrics,
  pool: Pool,
  store: EventStore,
  projections: readonly Pick<Projection, 'name' | 'streamPrefix'>[],
  clock: () => Date = () => new Date(),
): void {
  const sampled = new Map<string, { events: number; seconds: number }>();
  let sampling: Promise<void> | null = null;
  const sampleAll = async () => {
    for (const projection of projections) {
      const checkpoint = await readCheckpoint(pool, projection.name);
      const behind = await store.readAll(checkpoint, { batch: LAG_WINDOW, streamPrefix: projection.streamPrefix });
      const oldest = behind[0];
      sampled.set(projection.name, {
        events: behind.length,
        seconds: oldest ? Math.max(0, (clock().getTime() - oldest.recordedAt.getTime()) / 1000) : 0,
      });
    }
  };
  // Both gauges come from one pass over the checkpoints, shared by the two samplers of a scrape.
  const once = () => {
    sampling ??= sampleAll().finally(() => setImmediate(() => (sampling = null)));
    return sampling;
  };
  metrics.sample('projectionLagEvents', async () => {
    await once();
    for (const [projection, lag] of sampled) metrics.projectionLagEvents.set({ projection }, lag.events);
  });
  metrics.sample('projectionLagSeconds', async () => {
    await once();
    for (const [projection, lag] of sampled) metrics.projectionLagSeconds.set({ projection }, lag.seconds);
  });
}

/** Payments by status, counted in the payments read model at each scrape. */
export function watchPayments(metrics: LedgerMetrics, pool: Pool): void {
  metrics.sample('paymentsByStatus', async () => {
    const { rows } = await pool.query<{ status: string; n: number }>('select status, count(*)::int as n from payments group by status');
    // Every status is reported, 0 included, so that a panel shows a status before its first payment.
    metrics.paymentsByStatus.reset();
    for (const status of PAYMENT_STATUSES) metrics.paymentsByStatus.set({ status }, 0);
    for (const row of rows) metrics.paymentsByStatus.set({ status: row.status }, row.n);
  });
}

// ---- the composition root's view -----------------------------------------------------------------

export type TelemetryRole = 'all' | 'write-api' | 'read-api' | 'processes' | 'projections' | 'stripe-sandbox';

export interface SystemTelemetryOptions {
  readonly role: TelemetryRole;
  readonly pool: Pool;
  readonly store: EventStore;
  readonly log: TelemetryLog;
  readonly redisUrl?: string | undefined;
  /** Set when the event store is not the Postgres one, so that /readyz asks it too. */
  readonly externalEventStore?: boolean;
  readonly checkTimeoutMs?: number;
  readonly host: string;
  readonly processesPort: number;
  readonly projectionsPort: number;
  /** Projections whose lag the processes role reports (the saga's subscriptions). */
  readonly sagaProjections?: readonly Pick<Projection, 'name' | 'streamPrefix'>[];
  /** Projections whose lag the projections role reports. */
  readonly readModelProjections?: readonly Pick<Projection, 'name' | 'streamPrefix'>[];
  readonly metrics?: LedgerMetrics;
  readonly version?: string;
}

/**
 * Everything a process needs for metrics, logs and health, built once per process: one registry
 * (labelled with the role), the instrumented store, the readiness checks of the role, and the
 * operations server of a role without an API.
 */
export function systemTelemetry(options: SystemTelemetryOptions) {
  const metrics = options.metrics ?? createMetrics({ defaultMetrics: true, defaultLabels: { role: options.role } });
  const store = instrumentEventStore(options.store, metrics);
  const runs = (part: TelemetryRole) => options.role === 'all' || options.role === part;
  const timeout = options.checkTimeoutMs;
  const closers: (() => void)[] = [];
  const checks: DependencyCheck[] = [postgresCheck(options.pool, timeout)];
  // Redis carries the job queue (processes) and the rate-limit counters (the APIs); the
  // projections role does not use it, so its readiness does not depend on it.
  if (options.redisUrl && (runs('processes') || runs('write-api') || runs('read-api'))) {
    const redis = redisCheck(options.redisUrl, timeout);
    checks.push(redis);
    closers.push(() => redis.close());
  }
  if (options.externalEventStore) checks.push(eventStoreCheck(store, timeout));

  return {
    metrics,
    store,
    checks,
    api(api: Api): ApiOperations {
      return apiOperations({ metrics, checks, document: openApiDocument(api, options.version ? { version: options.version } : {}), log: options.log });
    },
    observeProjection: (projection: Projection) => observeProjection(projection, metrics, options.log),
    sagaHooks: sagaHooks(metrics, options.log),
    watchProcesses(running: WatchedProcesses) {
      watchProcesses(metrics, running, options.pool);
      if (options.sagaProjections) watchProjectionLag(metrics, options.pool, store, options.sagaProjections);
    },
    watchReadModels() {
      watchPayments(metrics, options.pool);
      if (options.readModelProjections) watchProjectionLag(metrics, options.pool, store, options.readModelProjections);
    },
    /** The processes and projections roles, run alone, serve /metrics and the probes on their own ports. */
    async startOperationsServers(): Promise<{ readonly name: string; readonly server: OperationsServer }[]> {
      const ports: { name: string; port: number }[] = [];
      if (options.role === 'processes') ports.push({ name: 'processes-metrics', port: options.processesPort });
      if (options.role === 'projections') ports.push({ name: 'projections-metrics', port: options.projectionsPort });
      const started: { name: string; server: OperationsServer }[] = [];
      for (const { name, port } of ports) {
        started.push({ name, server: await startOperationsServer({ host: options.host, port, metrics, checks }) });
      }
      return started;
    },
    close() {
      for (const close of closers) close();
    },
  };
}

export type SystemTelemetry = ReturnType<typeof systemTelemetry>;
