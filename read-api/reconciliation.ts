import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { EventStore } from '../ports/event-store';
import { foldRun, runStreamId } from '../processes/reconciliation/run-events';
import { sendProblem } from '../infra/http/problem';
import { requireScope } from '../infra/http/middleware';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * GET /v1/reconciliation/runs/:id (admin scope). A run is served by folding its own stream rather
 * than from the reconciliation read model: the stream is small (one event per discrepancy of one
 * window), always current (a client that just asked for a run or resolved a discrepancy sees it
 * at once, with no projection to wait for), and it is the record finance would audit anyway. The
 * read model exists for what a stream cannot answer: a discrepancy's run from its id alone.
 */
export function reconciliationReadRouter(deps: { readonly store: EventStore; readonly authenticate: readonly RequestHandler[] }): Router {
  const router = Router();
  router.get('/v1/reconciliation/runs/:id', [...deps.authenticate, requireScope('admin')], async (request: Request, response: Response) => {
    const id = String(request.params.id);
    const run = UUID.test(id) ? foldRun(await deps.store.read(runStreamId(id))) : null;
    if (!run) {
      sendProblem(response, 'run_not_found');
      return;
    }
    response.json(run);
  });
  return router;
}
