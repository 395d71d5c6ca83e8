import { Router } from 'express';
import { resourceMissing } from '../errors';
import { expandObject } from '../expand';
import { pathId, read } from '../http';
import { listBody, pageParams } from '../lists';
import type { Charge } from '../objects';
import { expandPaths, optionalString, rejectUnknown } from '../params';
import type { SandboxRuntime } from '../runtime';
import { getObject } from '../store';

export function chargeRoutes(rt: SandboxRuntime): Router {
  const router = Router();
  router.get(
    '/v1/charges/:id',
    read(rt, async (db, params, req) => {
      rejectUnknown(params, ['expand']);
      const charge = await getObject<Charge>(db, pathId(req));
      if (!charge || charge.object !== 'charge') throw resourceMissing('charge', pathId(req));
      return { status: 200, body: await expandObject(db, charge, expandPaths(params)) };
    }),
  );
  router.get(
    '/v1/charges',
    read(rt, async (db, params) => {
      rejectUnknown(params, ['limit', 'starting_after', 'ending_before', 'created', 'expand', 'payment_intent']);
      const fields = { payment_intent: optionalString(params, 'payment_intent') };
      const body = await listBody<Charge>(db, '/v1/charges', { object: 'charge', fields, ...pageParams(params) }, params);
      return { status: 200, body };
    }),
  );
  return router;
}
