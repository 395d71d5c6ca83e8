import express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { Pool } from 'pg';
import type { ApiKeyAuthenticator, Principal } from '../ports/api-keys';
import type { EventStore } from '../ports/event-store';
import { formatPosition, parsePosition } from '../ports/event-store';
import { verifyChain } from '../infra/event-store/hash-chain';
import { sendProblem } from '../infra/http/problem';
import { authenticate, correlationId, httpErrorHandler, notFound, requireScope, validated } from '../infra/http/middleware';
import type { SecurityOptions } from '../infra/http/security';
import type { ApiOperations } from '../infra/telemetry';
import { security } from '../infra/http/security';
import type { CheckpointWatcher } from './checkpoint-watcher';
import { createCheckpointWatcher } from './checkpoint-watcher';
import { accountBalances, listEntries } from './ledger.queries';
import { ACCOUNT, accountQuery, listEntriesQuery, listPaymentsQuery, PAYMENT_ID } from './params';
import { findPayment, listPayments } from './payments.queries';
import { reconciliationReadRouter } from './reconciliation';

export interface ReadApiDependencies {
  readonly pool: Pool;
  readonly store: EventStore;
  readonly apiKeys: ApiKeyAuthenticator;
  readonly logError: (message: string, error: unknown) => void;
  /** How long X-Min-Position may hold a request; DESIGN section 5 says 5 s. */
  readonly minPositionTimeoutMs?: number;
  /** Shared with the caller when given, so that it can be stopped with the server. */
  readonly checkpoints?: CheckpointWatcher;
  /** Names of the projections behind the payment and ledger endpoints. */
  readonly projections?: { readonly payments: string; readonly ledger: string };
  /** Rate limits, CORS, the request deadline; defaults in infra/http/security.ts. */
  readonly security?: SecurityOptions;
  /** Metrics, request log, /livez, /readyz, /metrics and the OpenAPI document (infra/telemetry.ts). */
  readonly operations?: ApiOperations;
}

export function createReadApi(deps: ReadApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(correlationId());
  if (deps.operations) app.use(...deps.operations.observe);
  const guard = security(deps.security);
  app.use(guard.front);
  if (deps.operations) app.use(deps.operations.routes);

  const checkpoints = deps.checkpoints ?? createCheckpointWatcher(deps.pool);
  const names = deps.projections ?? { payments: 'payments', ledger: 'ledger' };
  const timeoutMs = deps.minPositionTimeoutMs ?? 5000;
  const auth = [authenticate(deps.apiKeys), guard.perKey];
  const readPayments = [...auth, requireScope('payments:read'), minPosition(checkpoints, names.payments, timeoutMs)];
  const readLedger = [...auth, requireScope('payments:read'), minPosition(checkpoints, names.ledger, timeoutMs)];

  app.get('/v1/payments', readPayments, async (request: Request, response: Response) => {
    const query = validated(listPaymentsQuery, { ...(request.query as Record<string, unknown>) }, response);
    if (!query) return;
    const page = await listPayments(deps.pool, principal(request).merchantId, query);
    if ('cursorNotFound' in page) {
      sendProblem(response, 'payment_not_found', { detail: 'starting_after names no payment of yours' });
      return;
    }
    response.json({ object: 'list', data: page.data, has_more: page.has_more });
  });

  app.get('/v1/payments/:id', readPayments, async (request: Request, response: Response) => {
    const id = String(request.params.id);
    const payment = PAYMENT_ID.test(id) ? await findPayment(deps.pool, principal(request).merchantId, id) : null;
    if (!payment) {
      sendProblem(response, 'payment_not_found');
      return;
    }
    response.json(payment);
  });

  // The stream itself, from the event store rather than a read model: what an auditor checks.
  app.get('/v1/payments/:id/events', auth, requireScope('audit:read'), async (request: Request, response: Response) => {
    const id = String(request.params.id);
    const events = PAYMENT_ID.test(id) ? await deps.store.read(`payment-${id}`) : [];
    const first = events[0];
    if (!first || first.type !== 'PaymentRequested' || first.data.merchant_id !== principal(request).merchantId) {
      sendProblem(response, 'payment_not_found');
      return;
    }
    const verdict = verifyChain(events);
    response.json({
      object: 'list',
      stream_id: first.streamId,
      chain: verdict.ok ? { verified: true } : { verified: false, revision: verdict.revision, reason: verdict.reason },
      data: events.map((event) => ({
        id: event.id,
        type: event.type,
        revision: event.revision,
        position: formatPosition(event.position),
        recorded_at: event.recordedAt.toISOString(),
        data: event.data,
        metadata: event.metadata,
        prev_hash: event.prevHash,
        hash: event.hash,
      })),
      has_more: false,
    });
  });

  app.get('/v1/ledger/accounts/:account', readLedger, async (request: Request, response: Response) => {
    const account = visibleAccount(request, response);
    const query = account && validated(accountQuery, { ...(request.query as Record<string, unknown>) }, response);
    if (!account || !query) return;
    const balances = await accountBalances(deps.pool, account, query.currency);
    if (balances.length === 0 && !isOwnAccount(principal(request), account)) {
      sendProblem(response, 'account_not_found');
      return;
    }
    response.json({ object: 'ledger_account', id: account, balances });
  });

  app.get('/v1/ledger/accounts/:account/entries', readLedger, async (request: Request, response: Response) => {
    const account = visibleAccount(request, response);
    const query = account && validated(listEntriesQuery, { ...(request.query as Record<string, unknown>) }, response);
    if (!account || !query) return;
    const page = await listEntries(deps.pool, account, query);
    if ('cursorNotFound' in page) {
      sendProblem(response, 'validation_failed', { errors: [{ field: 'starting_after', message: 'names no entry of this account' }] });
      return;
    }
    response.json({ object: 'list', data: page.data, has_more: page.has_more });
  });

  app.use(reconciliationReadRouter({ store: deps.store, authenticate: auth }));
  app.use(notFound());
  app.use(httpErrorHandler(deps.logError));
  return app;
}

function principal(request: Request): Principal {
  return request.principal!;
}


const isOwnAccount = (who: Principal, account: string): boolean => account === `merchant_payable:${who.merchantId}`;

/**
 * A merchant sees its own payable account; another merchant's account does not exist for it
 * (404, as for payments, whatever the key's scopes); platform accounts such as stripe_balance
 * need the admin scope.
 */
function visibleAccount(request: Request, response: Response): string | undefined {
  const account = String(request.params.account);
  const who = principal(request);
  if (!ACCOUNT.test(account)) {
    sendProblem(response, 'account_not_found');
    return undefined;
  }
  if (isOwnAccount(who, account)) return account;
  // Even with the admin scope: a key belongs to one merchant, and another merchant's account
  // does not exist for it.
  if (account.startsWith('merchant_payable:')) {
    sendProblem(response, 'account_not_found');
    return undefined;
  }
  if (who.scopes.has('admin')) return account;
  sendProblem(response, 'forbidden', { detail: 'platform accounts need the admin scope' });
  return undefined;
}

/**
 * Read-your-writes: with `X-Min-Position: <commit>:<prepare>` (the `position` the write API
 * returned) the request waits until the projection has applied that position, at most
 * `timeoutMs`, then answers with what it has; the headers say where the projection stands.
 */
function minPosition(checkpoints: CheckpointWatcher, projection: string, timeoutMs: number): RequestHandler {
  return async (request, response, next) => {
    const header = request.header('x-min-position');
    if (header === undefined) {
      next();
      return;
    }
    const target = parsePosition(header.trim());
    if (!target) {
      sendProblem(response, 'validation_failed', { errors: [{ field: 'X-Min-Position', message: 'must be <commit>:<prepare>, as the write API returns it' }] });
      return;
    }
    const wait = await checkpoints.waitFor(projection, target, timeoutMs);
    response.setHeader('X-Projection-Position', wait.position ? formatPosition(wait.position) : '0:0');
    response.setHeader('X-Projection-Lagging', wait.reached ? 'false' : 'true');
    next();
  };
}
