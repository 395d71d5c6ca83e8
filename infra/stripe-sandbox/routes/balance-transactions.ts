import { Router } from 'express';
import { resourceMissing } from '../errors';
import { expandObject } from '../expand';
import { pathId, read } from '../http';
import { listBody, pageParams } from '../lists';
import type { BalanceTransaction } from '../objects';
import { expandPaths, optionalString, rejectUnknown } from '../params';
import type { SandboxRuntime } from '../runtime';
import { getObject } from '../store';

export function balanceTransactionRoutes(rt: SandboxRuntime): Router {
  const router = Router();
  router.get(
    '/v1/balance_transactions/:id',
    read(rt, async (db, params, req) => {
      rejectUnknown(params, ['expand']);
      const txn = await getObject<BalanceTransaction>(db, pathId(req));
      if (!txn || txn.object !== 'balance_transaction') throw resourceMissing('balance transaction', pathId(req));
      return { status: 200, body: await expandObject(db, txn, expandPaths(params)) };
    }),
  );
  router.get(
    '/v1/balance_transactions',
    read(rt, async (db, params) => {
      rejectUnknown(params, ['limit', 'starting_after', 'ending_before', 'created', 'expand', 'type', 'source', 'currency', 'payout']);
      const fields = {
        type: optionalString(params, 'type'),
        source: optionalString(params, 'source'),
        currency: optionalString(params, 'currency')?.toLowerCase(),
      };
      const query = { object: 'balance_transaction', fields, ...pageParams(params) };
      if (optionalString(params, 'payout') !== undefined) {
        // The sandbox makes no payouts, so a payout filter matches nothing.
        return { status: 200, body: { object: 'list', data: [], has_more: false, url: '/v1/balance_transactions' } };
      }
      return { status: 200, body: await listBody<BalanceTransaction>(db, '/v1/balance_transactions', query, params) };
    }),
  );
  return router;
}
