import type { Projection } from './projection';
import { ledgerProjection } from './ledger.projection';
import { paymentsProjection } from './payments.projection';

export * from './projection';
export * from './checkpoints';
export * from './runner';
export * from './rebuild';
export { paymentsProjection, nextPaymentRow, type PaymentRow } from './payments.projection';
export { ledgerProjection } from './ledger.projection';
export { STRIPE_BALANCE, merchantPayable } from './ledger.postings';

/** Every projection the read side runs. */
export const PROJECTIONS: readonly Projection[] = [paymentsProjection, ledgerProjection];

export function projectionNamed(name: string): Projection | undefined {
  return PROJECTIONS.find((projection) => projection.name === name);
}
