import type { Server } from 'node:http';
import cors from 'cors';
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Options as RateLimitOptions, Store } from 'express-rate-limit';
import helmet from 'helmet';
import { RedisStore } from 'rate-limit-redis';
import type { RedisReply } from 'rate-limit-redis';
import { sendProblem } from './problem';

/** The one Redis call the rate-limit store needs; an ioredis client's `call` fits. */
export interface RateLimitRedis {
  call(command: string, ...args: string[]): Promise<unknown>;
}

export interface RateLimitSettings {
  /** Requests one API key may make per window, across every instance sharing the store. */
  readonly perKey?: number;
  /** Failed authentications (401) one client address may cause per window, before any key is known. */
  readonly failedAuthPerClient?: number;
  readonly windowMs?: number;
  /** Shared counters (every instance of the API sees the same hits); in-process memory without it. */
  readonly redis?: RateLimitRedis;
  /** Keeps the counters of one API apart from another's in a shared Redis. */
  readonly prefix?: string;
}

export interface SecurityOptions {
  readonly rateLimit?: RateLimitSettings;
  /** Browser origins allowed to call the API; none (the default) means CORS stays closed. */
  readonly corsOrigins?: readonly string[];
  /** A request still unanswered after this long gets 503 request_timeout. */
  readonly requestTimeoutMs?: number;
  readonly log?: (level: 'warn' | 'error', message: string, meta?: Record<string, unknown>) => void;
}

/**
 * Stripe allows 100 operations per second per account in live mode; a key gets the same on
 * average, counted over a minute so that a burst (a batch of 200 creates) is not refused.
 */
export const SECURITY_DEFAULTS = {
  perKey: 6000,
  failedAuthPerClient: 6000,
  windowMs: 60_000,
  // Above the read API's 5 s X-Min-Position wait, with room for the query behind it.
  requestTimeoutMs: 30_000,
} as const;

export interface Security {
  /** Before any route: headers, CORS, the request deadline, the failed-authentication limit. */
  readonly front: RequestHandler[];
  /** After `authenticate`: the per-key limit. */
  readonly perKey: RequestHandler;
}

export function security(options: SecurityOptions = {}): Security {
  const settings = options.rateLimit ?? {};
  const windowMs = settings.windowMs ?? SECURITY_DEFAULTS.windowMs;
  const log = options.log ?? (() => undefined);
  const storeFor = (name: string): Store | undefined =>
    settings.redis ? redisStore(settings.redis, `${settings.prefix ?? 'ledger'}:rl:${name}:`) : undefined;

  const perKey = limiter({
    windowMs,
    limit: settings.perKey ?? SECURITY_DEFAULTS.perKey,
    store: storeFor('key'),
    keyGenerator: (request) => `key:${request.principal?.keyId ?? 'none'}`,
    log,
  });
  // Counts only the requests that end in 401, so that a flood of made-up keys is cut off before
  // it becomes a flood of key lookups, while callers with a valid key are not counted here.
  const failedAuth = limiter({
    windowMs,
    limit: settings.failedAuthPerClient ?? SECURITY_DEFAULTS.failedAuthPerClient,
    store: storeFor('auth'),
    keyGenerator: (request) => `ip:${ipKeyGenerator(request.ip ?? 'unknown')}`,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_request, response) => response.statusCode !== 401,
    log,
  });

  const front: RequestHandler[] = [
    helmet(),
    ...(options.corsOrigins && options.corsOrigins.length > 0 ? [corsFor(options.corsOrigins)] : []),
    requestDeadline(options.requestTimeoutMs ?? SECURITY_DEFAULTS.requestTimeoutMs),
    noOptions,
    failedAuth,
  ];
  return { front, perKey };
}

interface LimiterSpec {
  readonly windowMs: number;
  readonly limit: number;
  readonly store: Store | undefined;
  readonly keyGenerator: NonNullable<RateLimitOptions['keyGenerator']>;
  readonly skipSuccessfulRequests?: boolean;
  readonly requestWasSuccessful?: RateLimitOptions['requestWasSuccessful'];
  readonly log: NonNullable<SecurityOptions['log']>;
}

function limiter(spec: LimiterSpec): RequestHandler {
  return rateLimit({
    windowMs: spec.windowMs,
    limit: spec.limit,
    ...(spec.store ? { store: spec.store } : {}),
    keyGenerator: spec.keyGenerator,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    ...(spec.skipSuccessfulRequests ? { skipSuccessfulRequests: true } : {}),
    ...(spec.requestWasSuccessful ? { requestWasSuccessful: spec.requestWasSuccessful } : {}),
    // A Redis outage must not take the payment API down with it: the request goes through and
    // the failure is logged. The counters are a guard, not a source of truth.
    passOnStoreError: true,
    // The library's validations print to the console, outside the redacting logger.
    validate: false,
    logger: {
      error: (error, message) => spec.log('error', message ?? 'rate limiter error', { error }),
      warn: (error, message) => spec.log('warn', message ?? 'rate limiter warning', { error }),
    },
    handler: (request, response) => {
      const reset = (request as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now() + spec.windowMs) - Date.now()) / 1000));
      response.setHeader('Retry-After', String(seconds));
      sendProblem(response, 'rate_limited', { detail: `too many requests; retry after ${seconds} s`, retry_after: seconds });
    },
  });
}

function redisStore(redis: RateLimitRedis, prefix: string): Store {
  return new ReloadingRedisStore({
    prefix,
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
  });
}

/**
 * rate-limit-redis loads its Lua script once, at start: if Redis was unreachable then, the failed
 * load would be kept and every later request would pass unlimited. Loading again after a failure
 * makes the limits come back with Redis.
 */
class ReloadingRedisStore extends RedisStore {
  override async increment(key: string): ReturnType<RedisStore['increment']> {
    try {
      return await super.increment(key);
    } catch (error) {
      this.incrementScriptSha = this.loadIncrementScript();
      this.incrementScriptSha.catch(() => undefined);
      throw error;
    }
  }
}

function corsFor(origins: readonly string[]): RequestHandler {
  return cors({
    origin: [...origins],
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Correlation-Id', 'X-Min-Position'],
    exposedHeaders: [
      'X-Correlation-Id',
      'Idempotent-Replayed',
      'X-Projection-Position',
      'X-Projection-Lagging',
      'Retry-After',
      'RateLimit',
      'RateLimit-Policy',
    ],
    maxAge: 600,
  });
}

/**
 * OPTIONS that CORS has not answered: without this, express routers answer it with a 200
 * text/plain list of methods, the one answer of the API that is neither JSON nor a problem.
 */
const noOptions: RequestHandler = (request, response, next) => {
  if (request.method !== 'OPTIONS') {
    next();
    return;
  }
  response.setHeader('Allow', 'GET, HEAD, POST');
  sendProblem(response, 'method_not_allowed');
};

/**
 * Answers 503 request_timeout when a request is still unanswered at the deadline. The work behind
 * it may still finish; a client that retries with the same Idempotency-Key gets that result.
 */
function requestDeadline(timeoutMs: number): RequestHandler {
  return (request, response, next) => {
    const timer = setTimeout(() => {
      if (response.headersSent) return;
      response.setHeader('Connection', 'close');
      response.setHeader('Retry-After', '1');
      sendProblem(response, 'request_timeout');
    }, timeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    response.once('finish', clear);
    response.once('close', clear);
    next();
  };
}

/**
 * Node's own limits on slow clients (slowloris): the headers within 10 s, the whole request
 * within the deadline. Node answers 408 itself and closes the connection.
 */
export function hardenServer(server: Server, options: { requestTimeoutMs?: number } = {}): void {
  const requestTimeoutMs = options.requestTimeoutMs ?? SECURITY_DEFAULTS.requestTimeoutMs;
  server.headersTimeout = Math.min(10_000, requestTimeoutMs);
  server.requestTimeout = requestTimeoutMs;
  server.keepAliveTimeout = 5_000;
}

/** `CORS_ORIGINS`: comma-separated origins such as `https://dashboard.example.com`. */
export function parseOrigins(csv: string | undefined): string[] {
  return (csv ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}
