import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventStore } from '../ports/event-store';
import { StreamConflictError } from '../ports/event-store';

/**
 * The Prometheus metrics of one process (DESIGN section 10), in base units: durations in
 * `_seconds`, counters in `_total`. Each process makes one registry in the composition root; tests
 * make their own, so that two systems in one test process never share counts.
 *
 * Gauges whose value lives elsewhere (a read model, the queue, the breaker) are sampled when
 * Prometheus scrapes: a part registers a sampler with `sample()`, and a sampler that fails or is
 * too slow (its database is down) drops that gauge's values instead of serving stale ones.
 */
export interface LedgerMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Answers carrying `Idempotent-Replayed: true`: a repeated request that appended nothing. */
  readonly idempotentReplays: Counter<'route'>;
  readonly eventAppends: Counter<'category' | 'outcome'>;
  readonly eventsAppended: Counter<'category'>;
  readonly appendConflicts: Counter<'category' | 'expected'>;
  readonly appendDuration: Histogram<'category'>;
  readonly stripeCalls: Counter<'operation' | 'outcome'>;
  readonly breakerState: Gauge;
  readonly sagaJobs: Counter<'job' | 'result'>;
  readonly sagaQueueJobs: Gauge<'state'>;
  readonly sagaOpenWork: Gauge<'stage'>;
  readonly stuckPayments: Gauge;
  readonly janitorRedispatched: Counter;
  readonly projectionEvents: Counter<'projection'>;
  readonly projectionLagEvents: Gauge<'projection'>;
  readonly projectionLagSeconds: Gauge<'projection'>;
  readonly paymentsByStatus: Gauge<'status'>;
  readonly paymentEvents: Counter<'type'>;
  /** Discrepancies found by reconciliation runs, by kind; the reconciliation wiring increments it. */
  readonly reconciliationDiscrepancies: Counter<'kind'>;
  readonly collectionErrors: Counter<'metric'>;
  /** Registers a sampler for a gauge: it runs at every scrape and sets the gauge's values. */
  sample(gauge: SampledGauge, sampler: () => Promise<void> | void): void;
}

export type SampledGauge =
  | 'breakerState'
  | 'sagaQueueJobs'
  | 'sagaOpenWork'
  | 'projectionLagEvents'
  | 'projectionLagSeconds'
  | 'paymentsByStatus';

export interface MetricsOptions {
  /** Node's own process metrics (CPU, memory, event loop lag, GC), as `ledger_process_*` and `nodejs_*`. */
  readonly defaultMetrics?: boolean;
  /** Labels on every series of this process, e.g. `{ role: 'processes' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /** How long one sampler may take before its gauge is dropped from the scrape. */
  readonly sampleTimeoutMs?: number;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const APPEND_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export function createMetrics(options: MetricsOptions = {}): LedgerMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const timeoutMs = options.sampleTimeoutMs ?? 2000;
  const samplers = new Map<SampledGauge, (() => Promise<void> | void)[]>();
  const registers = [registry];

  const collectionErrors = new Counter({
    name: 'ledger_metric_collection_errors_total',
    help: 'Scrapes at which a sampled gauge could not be computed (its dependency failed or was too slow).',
    labelNames: ['metric'] as const,
    registers,
  });

  /** A gauge sampled at scrape time from the samplers registered under `key`. */
  function sampledGauge<L extends string>(key: SampledGauge, name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const list = samplers.get(key) ?? [];
        if (list.length === 0) return;
        try {
          await withTimeout(Promise.all(list.map(async (sampler) => sampler())), timeoutMs, name);
        } catch {
          this.reset();
          collectionErrors.inc({ metric: name });
        }
      },
    });
  }

  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from the request arriving to the response being written, by route template.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: HTTP_BUCKETS,
      registers,
    }),
    idempotentReplays: new Counter({
      name: 'ledger_idempotent_replays_total',
      help: 'Requests answered as an idempotent replay (same key, same body): nothing was appended.',
      labelNames: ['route'] as const,
      registers,
    }),
    eventAppends: new Counter({
      name: 'ledger_event_appends_total',
      help: 'Appends to the event store, by stream category and outcome (ok, conflict, error).',
      labelNames: ['category', 'outcome'] as const,
      registers,
    }),
    eventsAppended: new Counter({
      name: 'ledger_events_appended_total',
      help: 'Events written by successful appends, by stream category.',
      labelNames: ['category'] as const,
      registers,
    }),
    appendConflicts: new Counter({
      name: 'ledger_event_append_conflicts_total',
      help: 'Appends refused because the expected revision did not hold, by stream category and kind of expectation.',
      labelNames: ['category', 'expected'] as const,
      registers,
    }),
    appendDuration: new Histogram({
      name: 'ledger_event_append_duration_seconds',
      help: 'Duration of event store appends, by stream category.',
      labelNames: ['category'] as const,
      buckets: APPEND_BUCKETS,
      registers,
    }),
    stripeCalls: new Counter({
      name: 'ledger_stripe_calls_total',
      help: 'Calls to Stripe by operation and outcome: ok, declined, rejected (a definitive 4xx), unknown (timeout, 5xx, 409, 429, connection).',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    }),
    breakerState: sampledGauge('breakerState', 'ledger_stripe_breaker_state', 'State of the Stripe circuit breaker: 0 closed, 1 half-open, 2 open.', []),
    sagaJobs: new Counter({
      name: 'ledger_saga_jobs_total',
      help: 'Saga job runs by job name and result (recorded, already_recorded, nothing_to_do, contradicted, retry, waiting).',
      labelNames: ['job', 'result'] as const,
      registers,
    }),
    sagaQueueJobs: sampledGauge('sagaQueueJobs', 'ledger_saga_queue_jobs', 'Jobs in the saga queue by BullMQ state (waiting, active, delayed, prioritized, failed).', ['state']),
    sagaOpenWork: sampledGauge(
      'sagaOpenWork',
      'ledger_saga_open_work',
      'Open saga work rows derived from the streams: pending (not yet queued) and dispatched (queued, not finished).',
      ['stage'],
    ),
    stuckPayments: new Gauge({
      name: 'ledger_stuck_payments',
      help: "Saga work open past the stuck threshold at the janitor's last pass.",
      registers,
    }),
    janitorRedispatched: new Counter({
      name: 'ledger_janitor_redispatched_total',
      help: 'Jobs the janitor put back into the queue (lost with the queue, or out of attempts).',
      registers,
    }),
    projectionEvents: new Counter({
      name: 'ledger_projection_events_total',
      help: 'Events applied and committed by each projection.',
      labelNames: ['projection'] as const,
      registers,
    }),
    projectionLagEvents: sampledGauge(
      'projectionLagEvents',
      'ledger_projection_lag_events',
      'Events in the store after the projection checkpoint (capped at the sampling window).',
      ['projection'],
    ),
    projectionLagSeconds: sampledGauge(
      'projectionLagSeconds',
      'ledger_projection_lag_seconds',
      'Age of the oldest event the projection has not applied yet; 0 when caught up.',
      ['projection'],
    ),
    paymentsByStatus: sampledGauge('paymentsByStatus', 'ledger_payments', 'Payments in the payments read model, by status.', ['status']),
    paymentEvents: new Counter({
      name: 'ledger_payment_events_total',
      help: 'Payment events applied by the payments projection, by event type (PaymentCaptured, PaymentFailed, ...).',
      labelNames: ['type'] as const,
      registers,
    }),
    reconciliationDiscrepancies: new Counter({
      name: 'ledger_reconciliation_discrepancies_total',
      help: 'Discrepancies found by reconciliation runs, by kind (missing_in_ledger, amount_mismatch, ...).',
      labelNames: ['kind'] as const,
      registers,
    }),
    collectionErrors,
    sample(gauge, sampler) {
      samplers.set(gauge, [...(samplers.get(gauge) ?? []), sampler]);
    },
  };
}

/** Counts discrepancies of a finished reconciliation run; for the reconciliation wiring. */
export function countDiscrepancies(metrics: LedgerMetrics, discrepancies: readonly { readonly kind: string }[]): void {
  for (const discrepancy of discrepancies) metrics.reconciliationDiscrepancies.inc({ kind: discrepancy.kind });
}

/** GET /metrics: the registry in Prometheus' text format. */
export function metricsHandler(metrics: LedgerMetrics): RequestHandler {
  return async (_request, response, next) => {
    try {
      const body = await metrics.registry.metrics();
      response.setHeader('Content-Type', metrics.registry.contentType);
      response.setHeader('Cache-Control', 'no-store');
      response.end(body);
    } catch (error) {
      next(error);
    }
  };
}

/** Requests that matched no route share one label value, so that scanners cannot explode the series. */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * HTTP RED: rate, errors (by status code) and duration per route template (`/v1/payments/:id`,
 * never the raw path). Mounted before everything else, so that a request refused by a rate limit
 * or the body parser is counted too.
 */
export function httpMetrics(metrics: LedgerMetrics): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const labels = { method: request.method, route: routeTemplate(request), status_code: String(response.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      if (response.getHeader('idempotent-replayed') === 'true') metrics.idempotentReplays.inc({ route: labels.route });
    };
    response.once('finish', record);
    // A client that went away before the answer was written still cost us the work.
    response.once('close', record);
    next();
  };
}

/** The route template a request matched (`/v1/payments/:id/capture`), or UNMATCHED_ROUTE. */
export function routeTemplate(request: Request): string {
  const path = (request.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${request.baseUrl}${path}` : UNMATCHED_ROUTE;
}

/** Bounded stream categories for labels: a stream id itself would be one series per payment. */
export function streamCategory(streamId: string): string {
  if (streamId.startsWith('payment-')) return 'payment';
  if (streamId.startsWith('stripe-event-')) return 'stripe_event';
  if (streamId.startsWith('reconciliation-')) return 'reconciliation';
  return 'other';
}

function expectation(expected: unknown): string {
  return expected === 'no_stream' || expected === 'any' ? expected : 'revision';
}

/**
 * The event store with appends, events and conflicts counted. Every part of a process appends
 * through this one decorator, whichever adapter is underneath.
 */
export function instrumentEventStore(store: EventStore, metrics: LedgerMetrics): EventStore {
  return {
    async append(streamId, events, expected) {
      const category = streamCategory(streamId);
      const stopTimer = metrics.appendDuration.startTimer({ category });
      try {
        const result = await store.append(streamId, events, expected);
        metrics.eventAppends.inc({ category, outcome: 'ok' });
        metrics.eventsAppended.inc({ category }, events.length);
        return result;
      } catch (error) {
        if (error instanceof StreamConflictError) {
          metrics.eventAppends.inc({ category, outcome: 'conflict' });
          metrics.appendConflicts.inc({ category, expected: expectation(expected) });
        } else {
          metrics.eventAppends.inc({ category, outcome: 'error' });
        }
        throw error;
      } finally {
        stopTimer();
      }
    },
    read: (streamId) => store.read(streamId),
    readAll: (after, options) => store.readAll(after, options),
    close: () => store.close(),
  };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
