import type { Pool } from 'pg';
import type { ListPaymentsQuery } from './params';
import type { PaymentView } from '../domain/payment.view';

/** A payment as both APIs show it (DESIGN section 5): the domain's view less the merchant, plus where its stream stands. */
export type PaymentRepresentation = Omit<PaymentView, 'merchant_id' | 'status' | 'capture_method'> & {
  // The read model stores these as text; they hold the view's values.
  readonly status: string;
  readonly capture_method: string;
  readonly revision: number;
  readonly position: string;
};

interface PaymentDbRow {
  id: string;
  status: string;
  amount: string;
  currency: string;
  customer_id: string;
  capture_method: string;
  amount_captured: string;
  amount_refunded: string;
  fee: string | null;
  net: string | null;
  failure_code: string | null;
  failure_message: string | null;
  created_at: Date;
  updated_at: Date;
  description: string | null;
  metadata: Record<string, string>;
  revision: string;
  commit_position: string;
  prepare_position: string;
}

const SELECT = `select id, status, amount, currency, customer_id, capture_method, amount_captured, amount_refunded, fee, net,
  failure_code, failure_message, created_at, updated_at, description, metadata, revision, commit_position::text,
  prepare_position::text from payments`;

/** pg returns bigint as text; every amount we store fits a double exactly, and this checks it. */
export function toSafeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`read model value ${text} is not a safe integer`);
  return value;
}
const nullableInteger = (text: string | null): number | null => (text === null ? null : toSafeInteger(text));

export function toRepresentation(row: PaymentDbRow): PaymentRepresentation {
  return {
    id: row.id,
    object: 'payment',
    status: row.status,
    amount: toSafeInteger(row.amount),
    currency: row.currency,
    customer_id: row.customer_id,
    capture_method: row.capture_method,
    amount_captured: toSafeInteger(row.amount_captured),
    amount_refunded: toSafeInteger(row.amount_refunded),
    fee: nullableInteger(row.fee),
    net: nullableInteger(row.net),
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    description: row.description,
    metadata: row.metadata,
    revision: toSafeInteger(row.revision),
    position: `${row.commit_position}:${row.prepare_position}`,
  };
}

/** The merchant's payment, or null: another merchant's payment does not exist for this caller. */
export async function findPayment(pool: Pool, merchantId: string, paymentId: string): Promise<PaymentRepresentation | null> {
  const { rows } = await pool.query<PaymentDbRow>(`${SELECT} where merchant_id = $1 and id = $2`, [merchantId, paymentId]);
  return rows[0] ? toRepresentation(rows[0]) : null;
}

export type PaymentPage = { readonly data: PaymentRepresentation[]; readonly has_more: boolean } | { readonly cursorNotFound: true };

/**
 * Newest first, ties broken by id (descending), so the order is total and a cursor never skips
 * or repeats a payment. The cursor is looked up among the merchant's own payments only.
 */
export async function listPayments(pool: Pool, merchantId: string, query: ListPaymentsQuery): Promise<PaymentPage> {
  const limit = query.limit ?? 10;
  const params: unknown[] = [merchantId];
  const where = ['merchant_id = $1'];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (query.status) add((n) => `status = ${n}`, query.status);
  if (query.customer_id) add((n) => `customer_id = ${n}`, query.customer_id);
  if (query.created_gte) add((n) => `created_at >= ${n}`, query.created_gte.toISOString());
  if (query.created_lt) add((n) => `created_at < ${n}`, query.created_lt.toISOString());
  if (query.starting_after) {
    const cursor = await pool.query<{ created_at: Date }>('select created_at from payments where merchant_id = $1 and id = $2', [
      merchantId,
      query.starting_after,
    ]);
    if (!cursor.rows[0]) return { cursorNotFound: true };
    params.push(cursor.rows[0].created_at, query.starting_after);
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::text)`);
  }
  params.push(limit + 1);
  const { rows } = await pool.query<PaymentDbRow>(
    `${SELECT} where ${where.join(' and ')} order by created_at desc, id desc limit $${params.length}`,
    params,
  );
  return { data: rows.slice(0, limit).map(toRepresentation), has_more: rows.length > limit };
}
