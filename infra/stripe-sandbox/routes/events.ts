import { Router } from 'express';
import { resourceMissing } from '../errors';
import { pathId, read } from '../http';
import { listBody, pageParams } from '../lists';
import type { StripeEvent } from '../objects';
import { optionalString, rejectUnknown } from '../params';
import type { SandboxRuntime } from '../runtime';
import { getObject } from '../store';

export function eventRoutes(rt: SandboxRuntime): Router {
  const router = Router();
  router.get(
    '/v1/events/:id',
    read(rt, async (db, params, req) => {
      rejectUnknown(params, ['expand']);
      const event = await getObject<StripeEvent>(db, pathId(req));
      if (!event || event.object !== 'event') throw resourceMissing('event', pathId(req));
      return { status: 200, body: event };
    }),
  );
  router.get(
    '/v1/events',
    read(rt, async (db, params) => {
      rejectUnknown(params, ['limit', 'starting_after', 'ending_before', 'created', 'expand', 'type', 'delivery_success']);
      const fields = { type: optionalString(params, 'type') };
      return { status: 200, body: await listBody<StripeEvent>(db, '/v1/events', { object: 'event', fields, ...pageParams(params) }, params) };
    }),
  );
  return router;
}
