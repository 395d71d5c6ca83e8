import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { PoolClient } from 'pg';
import type { OpContext } from './context';
import { apiErrorResult, invalidRequest, StripeRequestError, type ApiResult } from './errors';
import { claimKey, releaseKey, requestHash, saveResult, scopeOf } from './idempotency';
import { newId } from './ids';
import { parseForm, type Params } from './params';
import { NO_FAULT, type ApiFaultDecision } from './faults';
import type { SandboxRuntime } from './runtime';

/** The API version the installed SDK pins; used when a request names none. */
const DEFAULT_API_VERSION = '2026-10-28.endive';

interface Locals {
  apiKey: string;
  requestId: string;
  params: Params;
  decision: ApiFaultDecision;
}

const locals = (res: Response) => res.locals as Locals;

/** Answers a request, unless a lost-response fault says the operation is done but the answer never arrives. */
export function send(rt: SandboxRuntime, req: Request, res: Response, result: ApiResult, headers: Record<string, string> = {}): void {
  if (locals(res).decision?.lostResponse) {
    rt.faults.count('lostResponse');
    req.socket.destroy();
    return;
  }
  const key = req.get('idempotency-key');
  res
    .status(result.status)
    .set({ 'Request-Id': locals(res).requestId, 'Stripe-Version': apiVersion(req), ...(key ? { 'Idempotency-Key': key } : {}), ...headers })
    .json(result.body);
}

function apiVersion(req: Request): string {
  return req.get('stripe-version') ?? DEFAULT_API_VERSION;
}

/** Any `sk_test_` key is accepted, as a bearer token or as the basic-auth user name. */
export function authenticate(): RequestHandler {
  return (req, res, next) => {
    locals(res).requestId = newId('req', 14);
    const header = req.get('authorization') ?? '';
    const bearer = /^Bearer (\S+)$/.exec(header)?.[1];
    const basic = /^Basic (\S+)$/.exec(header)?.[1];
    const key = bearer ?? (basic ? Buffer.from(basic, 'base64').toString('utf8').split(':')[0] : undefined);
    if (!key || !/^sk_test_\w+$/.test(key)) {
      const message = key
        ? `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`
        : 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').';
      res.status(401).json({ error: { type: 'invalid_request_error', message } });
      return;
    }
    locals(res).apiKey = key;
    next();
  };
}

/** Form bodies and query strings both use Stripe's bracket notation, which qs reads. */
export function parseParams(): RequestHandler {
  return (req, res, next) => {
    const query = req.originalUrl.split('?')[1] ?? '';
    const body = typeof req.body === 'string' ? req.body : '';
    locals(res).params = req.method === 'GET' || req.method === 'DELETE' ? parseForm(query) : parseForm(body);
    next();
  };
}

/**
 * Faults that happen before the operation: a 500 or a 429 (answered before the idempotency layer, so
 * never saved and a retry with the same key runs the operation), or a hold past the client's timeout
 * after which the socket is dropped without the operation running.
 */
export function injectFaults(rt: SandboxRuntime): RequestHandler {
  return (req, res, next) => {
    const decision = rt.faults.decideApi();
    locals(res).decision = decision;
    if (decision.error5xx) {
      rt.faults.count('error5xx');
      res.status(500).set('Request-Id', locals(res).requestId).json(apiErrorResult().body);
      return;
    }
    if (decision.rateLimit) {
      rt.faults.count('rateLimit');
      res
        .status(429)
        .set({ 'Stripe-Should-Retry': String(decision.rateLimit.shouldRetry), 'Request-Id': locals(res).requestId })
        .json({ error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' } });
      return;
    }
    if (decision.timeout) {
      rt.faults.count('timeout');
      const timer = setTimeout(() => {
        rt.held.delete(timer);
        req.socket.destroy();
      }, rt.faults.config()?.timeoutHoldMs ?? 30_000);
      rt.held.add(timer);
      return;
    }
    next();
  };
}

async function latency(rt: SandboxRuntime, res: Response): Promise<void> {
  const ms = (locals(res).decision ?? NO_FAULT).latencyMs;
  if (ms <= 0) return;
  rt.faults.count('latency');
  await new Promise((resolve) => setTimeout(resolve, ms));
}

function opContext(rt: SandboxRuntime, req: Request, res: Response): OpContext {
  const nowMs = rt.clockMs();
  const delayMs = rt.faults.webhookDelayMs();
  if (rt.webhookUrl && delayMs > 0) rt.faults.count('webhookDelay');
  return {
    now: Math.floor(nowMs / 1000),
    requestId: locals(res).requestId,
    idempotencyKey: req.get('idempotency-key') ?? null,
    apiVersion: apiVersion(req),
    webhook: rt.webhookUrl ? { url: rt.webhookUrl, firstAttemptAtMs: nowMs + delayMs } : null,
  };
}

export type Operation = (db: PoolClient, ctx: OpContext, params: Params, req: Request) => Promise<ApiResult>;
export type Read = (db: SandboxRuntime['pool'], params: Params, req: Request) => Promise<ApiResult>;

/** A POST: idempotency claim, then the operation and its saved answer in one transaction. */
export function mutation(rt: SandboxRuntime, op: Operation): RequestHandler {
  return async (req: Request, res: Response) => {
    const { params, apiKey } = locals(res);
    const key = req.get('idempotency-key');
    const scope = scopeOf(apiKey);
    if (key !== undefined && key.length > 255) {
      return send(rt, req, res, invalidRequest('Idempotency-Key must be at most 255 characters long.').toResult());
    }
    if (key !== undefined) {
      const claim = await claimKey(rt.pool, scope, key, requestHash(req.method, req.path, params));
      if (claim.kind === 'replay') return send(rt, req, res, claim.result, { 'Idempotent-Replayed': 'true' });
      if (claim.kind === 'refused') return send(rt, req, res, claim.result);
    }
    await latency(rt, res);
    const result = await runOperation(rt, op, opContext(rt, req, res), params, req, key === undefined ? null : { scope, key });
    send(rt, req, res, result);
  };
}

async function runOperation(
  rt: SandboxRuntime,
  op: Operation,
  ctx: OpContext,
  params: Params,
  req: Request,
  idem: { scope: string; key: string } | null,
): Promise<ApiResult> {
  const client = await rt.pool.connect();
  try {
    await client.query('begin');
    const result = await op(client, ctx, params, req);
    if (idem) await saveResult(client, idem.scope, idem.key, result);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    if (error instanceof StripeRequestError) {
      if (idem) await releaseKey(rt.pool, idem.scope, idem.key);
      return error.toResult();
    }
    // Stripe saves a 500 like any other answer: a retry with the same key gets the same 500.
    rt.log.error('stripe-sandbox: operation failed', { path: req.path, error: (error as Error).message });
    const result = apiErrorResult();
    if (idem) await saveResult(rt.pool, idem.scope, idem.key, result).catch(() => undefined);
    return result;
  } finally {
    client.release();
  }
}

/** A GET: no transaction, no idempotency; a refused request still answers in Stripe's error shape. */
export function read(rt: SandboxRuntime, handler: Read): RequestHandler {
  return async (req: Request, res: Response) => {
    await latency(rt, res);
    let result: ApiResult;
    try {
      result = await handler(rt.pool, locals(res).params, req);
    } catch (error) {
      if (!(error instanceof StripeRequestError)) throw error;
      result = error.toResult();
    }
    send(rt, req, res, result);
  };
}

export function errorHandler(rt: SandboxRuntime) {
  return (error: Error, req: Request, res: Response, _next: NextFunction) => {
    rt.log.error('stripe-sandbox: request failed', { path: req.path, error: error.message });
    if (!res.headersSent) res.status(500).json(apiErrorResult().body);
  };
}

export function pathId(req: Request, name = 'id'): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw new Error(`stripe-sandbox: route without :${name}`);
  return value;
}
