import { z } from 'zod';

/** Query parameters arrive as strings (or arrays, when repeated: always invalid here). */

export const PAYMENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const PAYMENT_STATUSES = ['requested', 'authorized', 'captured', 'partially_refunded', 'refunded', 'failed', 'canceled'] as const;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** A time as Unix seconds (Stripe's way) or an ISO 8601 date or date-time. */
const instant = z
  .string()
  .transform((value, context) => {
    const date = /^\d{1,11}$/.test(value) ? new Date(Number(value) * 1000) : ISO_TIME.test(value) ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999 || date.getUTCFullYear() < 1) {
      context.addIssue({ code: 'custom', message: 'must be Unix seconds or an ISO 8601 date or date-time' });
      return z.NEVER;
    }
    return date;
  });

export const limit = z
  .string()
  .regex(/^\d{1,3}$/, 'must be an integer from 1 to 100')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be an integer from 1 to 100').max(100, 'must be an integer from 1 to 100'));

export const listPaymentsQuery = z.strictObject({
  status: z.enum(PAYMENT_STATUSES).optional(),
  customer_id: z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1..255 printable ASCII characters without spaces')
    .optional(),
  created_gte: instant.optional(),
  created_lt: instant.optional(),
  limit: limit.optional(),
  starting_after: z.string().regex(PAYMENT_ID, 'must be a payment id').optional(),
});

export type ListPaymentsQuery = z.infer<typeof listPaymentsQuery>;

export const listEntriesQuery = z.strictObject({
  currency: z.string().regex(/^[a-z]{3}$/, 'must be a lowercase ISO 4217 currency code').optional(),
  limit: limit.optional(),
  starting_after: z.string().regex(PAYMENT_ID, 'must be a ledger entry id').optional(),
});

export type ListEntriesQuery = z.infer<typeof listEntriesQuery>;

export const accountQuery = z.strictObject({
  currency: z.string().regex(/^[a-z]{3}$/, 'must be a lowercase ISO 4217 currency code').optional(),
});

/** Account names: `stripe_balance`, `merchant_payable:<merchant>`. */
export const ACCOUNT = /^[a-z_]{1,40}(?::[A-Za-z0-9_-]{1,64})?$/;
