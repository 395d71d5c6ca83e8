import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { Pool } from 'pg';
import { v5 as uuidv5 } from 'uuid';
import { z } from 'zod';
import type { EventStore } from '../ports/event-store';
import { LEDGER_NAMESPACE, requestHash } from '../commands/ids';
import { text } from '../commands/schema-parts';
import { RESOLUTIONS, requestRun, resolveDiscrepancy } from '../processes/reconciliation';
import { runOfDiscrepancy } from '../projections/reconciliation.projection';
import { sendProblem } from '../infra/http/problem';
import { jsonBody, requireScope, validated } from '../infra/http/middleware';
import { idempotencyKeyOf } from './requests';

export interface ReconciliationRouterDependencies {
  readonly store: EventStore;
  /** For the reconciliation read model, where a discrepancy's run is found by the discrepancy's id. */
  readonly pool: Pool;
  readonly clock: () => Date;
  readonly bodyLimitBytes: number;
  /** Authentication (and whatever else guards every authenticated call), run before the scope check. */
  readonly authenticate: readonly RequestHandler[];
}

const MAX_WINDOW_MS = 92 * 86_400_000;

export const reconciliationRunSchema = z
  .object({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
  })
  .strict()
  .refine((w) => Date.parse(w.from) < Date.parse(w.to), { message: 'must be after from', path: ['to'] })
  .refine((w) => Date.parse(w.to) - Date.parse(w.from) <= MAX_WINDOW_MS, { message: 'a window spans at most 92 days', path: ['to'] });

export const resolveDiscrepancySchema = z
  .object({
    resolution: z.enum(RESOLUTIONS),
    note: text(2000).min(1),
  })
  .strict();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Reconciliation on the write API, for platform operators only (`admin`): a run reads every
 * merchant's payments and may book facts into any of them, which no merchant key may ask for.
 *
 * POST /v1/reconciliation/runs asks for a run: it appends ReconciliationRequested to the run's stream
 * (its id derived from the Idempotency-Key, as a payment's is) and answers 202; the processes role
 * executes it. POST /v1/reconciliation/discrepancies/:id/resolve records a person's resolution.
 */
export function reconciliationRouter(deps: ReconciliationRouterDependencies): Router {
  const router = Router();
  const guarded = [...deps.authenticate, requireScope('admin'), ...jsonBody(deps.bodyLimitBytes)];

  router.post('/v1/reconciliation/runs', guarded, async (request: Request, response: Response) => {
    const input = validated(reconciliationRunSchema, request.body, response);
    const key = input && idempotencyKeyOf(request, response);
    if (!input || !key) return;
    const principal = request.principal!;
    const window = { from: new Date(input.from).toISOString(), to: new Date(input.to).toISOString() };
    const hash = requestHash('ReconcileWindow', window);
    const runId = uuidv5(`reconciliation:${principal.merchantId}:${key}`, LEDGER_NAMESPACE);
    const { run, created, events } = await requestRun(
      deps.store,
      { runId, window, trigger: 'api', actor: principal.keyId, idempotencyKey: key, requestHash: hash },
      deps.clock(),
    );
    if (!created) {
      if (events[0]?.metadata.request_hash !== hash) {
        sendProblem(response, 'idempotency_key_reused');
        return;
      }
      response.setHeader('Idempotent-Replayed', 'true');
    }
    response.status(202).json(run);
  });

  router.post('/v1/reconciliation/discrepancies/:id/resolve', guarded, async (request: Request, response: Response) => {
    const discrepancyId = String(request.params.id);
    if (!UUID.test(discrepancyId)) {
      sendProblem(response, 'discrepancy_not_found');
      return;
    }
    const input = validated(resolveDiscrepancySchema, request.body, response);
    const key = input && idempotencyKeyOf(request, response);
    if (!input || !key) return;
    const runId = await runOfDiscrepancy(deps.pool, discrepancyId);
    if (!runId) {
      sendProblem(response, 'discrepancy_not_found');
      return;
    }
    const principal = request.principal!;
    const outcome = await resolveDiscrepancy(deps.store, {
      runId,
      discrepancyId,
      resolution: input.resolution,
      note: input.note,
      actor: principal.keyId,
      correlationId: request.correlationId!,
      idempotencyKey: key,
      requestHash: requestHash('ResolveDiscrepancy', { discrepancy_id: discrepancyId, ...input }),
      now: deps.clock(),
    });
    switch (outcome.kind) {
      case 'resolved': {
        if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
        const discrepancy = outcome.run.discrepancies.find((d) => d.discrepancy_id === discrepancyId)!;
        response.status(200).json({ ...discrepancy, object: 'reconciliation_discrepancy', run_id: runId });
        return;
      }
      case 'discrepancy_not_found':
        sendProblem(response, 'discrepancy_not_found');
        return;
      case 'idempotency_key_reused':
        sendProblem(response, 'idempotency_key_reused');
        return;
      case 'discrepancy_not_open':
        sendProblem(response, 'discrepancy_not_open', { detail: `the discrepancy is already ${outcome.status}` });
        return;
      default: {
        const unreachable: never = outcome;
        throw new Error(`unhandled outcome ${JSON.stringify(unreachable)}`);
      }
    }
  });
  return router;
}


