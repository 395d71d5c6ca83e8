import { Router } from 'express';
import { resourceMissing } from '../errors';
import { expandObject } from '../expand';
import { mutation, pathId, read } from '../http';
import { listBody, pageParams } from '../lists';
import type { Refund } from '../objects';
import { expandPaths, optionalString, rejectUnknown } from '../params';
import { createRefund } from '../refunds';
import type { SandboxRuntime } from '../runtime';
import { getObject } from '../store';

export function refundRoutes(rt: SandboxRuntime): Router {
  const router = Router();
  router.post('/v1/refunds', mutation(rt, createRefund));
  router.get(
    '/v1/refunds/:id',
    read(rt, async (db, params, req) => {
      rejectUnknown(params, ['expand']);
      const refund = await getObject<Refund>(db, pathId(req));
      if (!refund || refund.object !== 'refund') throw resourceMissing('refund', pathId(req));
      return { status: 200, body: await expandObject(db, refund, expandPaths(params)) };
    }),
  );
  router.get(
    '/v1/refunds',
    read(rt, async (db, params) => {
      rejectUnknown(params, ['limit', 'starting_after', 'ending_before', 'created', 'expand', 'charge', 'payment_intent']);
      const fields = { charge: optionalString(params, 'charge'), payment_intent: optionalString(params, 'payment_intent') };
      const body = await listBody<Refund>(db, '/v1/refunds', { object: 'refund', fields, ...pageParams(params) }, params);
      return { status: 200, body };
    }),
  );
  return router;
}
