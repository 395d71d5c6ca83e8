import type { RecordedEvent } from '../ports/event-store';
import { formatPosition } from '../ports/event-store';
import { toPaymentEvent } from '../commands/payment-stream';
import type { Payment } from '../domain/payment.state';
import { evolve, initialState, isPayment } from '../domain/payment.state';
import { paymentView } from '../domain/payment.view';
import type { Projection, ProjectionTx } from './projection';
import { batchedProjection } from './projection';

export const PAYMENT_STREAM_PREFIX = 'payment-';

/** The row of the `payments` read model: the representation of DESIGN section 5, plus the folded state. */
export interface PaymentRow {
  readonly id: string;
  readonly merchant_id: string;
  readonly status: string;
  readonly amount: number;
  readonly currency: string;
  readonly customer_id: string;
  readonly capture_method: string;
  readonly amount_captured: number;
  readonly amount_refunded: number;
  readonly fee: number | null;
  readonly net: number | null;
  readonly failure_code: string | null;
  readonly failure_message: string | null;
  readonly description: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly created_at: string;
  readonly updated_at: string;
  readonly revision: number;
  /** The event-store position of the last event applied, "<commit>:<prepare>". */
  readonly position: string;
  readonly state: Payment;
}

/** What the projection keeps of a payment between events. */
export interface PaymentRowState {
  readonly revision: number;
  readonly state: Payment;
}

/**
 * Pure: the payment row after `event`, or null when the row already reflects it (the event's
 * revision is at or below the row's), which is what makes the projection idempotent.
 */
export function nextPaymentRow(previous: PaymentRowState | null, event: RecordedEvent): PaymentRow | null {
  if (previous && event.revision <= previous.revision) return null;
  const expected = previous ? previous.revision + 1 : 0;
  // readAll hands out a stream's events in revision order, so a gap is a bug, never a race.
  if (event.revision !== expected) {
    throw new Error(`payments projection: ${event.streamId} revision ${event.revision} follows ${expected - 1}`);
  }
  const state = evolve(previous ? previous.state : initialState(), toPaymentEvent(event));
  if (!isPayment(state)) throw new Error(`payments projection: ${event.streamId} folded to no payment`);
  const view = paymentView(state);
  return {
    id: view.id,
    merchant_id: view.merchant_id,
    status: view.status,
    amount: view.amount,
    currency: view.currency,
    customer_id: view.customer_id,
    capture_method: view.capture_method,
    amount_captured: view.amount_captured,
    amount_refunded: view.amount_refunded,
    fee: view.fee,
    net: view.net,
    failure_code: view.failure_code,
    failure_message: view.failure_message,
    description: view.description,
    metadata: view.metadata,
    created_at: view.created_at,
    updated_at: view.updated_at,
    revision: event.revision,
    position: formatPosition(event.position),
    state,
  };
}

export function paymentIdOfStream(streamId: string): string {
  if (!streamId.startsWith(PAYMENT_STREAM_PREFIX)) throw new Error(`${streamId} is not a payment stream`);
  return streamId.slice(PAYMENT_STREAM_PREFIX.length);
}

const COLUMNS = [
  'id', 'merchant_id', 'status', 'amount', 'currency', 'customer_id', 'capture_method', 'amount_captured', 'amount_refunded',
  'fee', 'net', 'failure_code', 'failure_message', 'description', 'metadata', 'created_at', 'updated_at', 'revision',
  'commit_position', 'prepare_position', 'state',
] as const;

/** The Postgres type of each column, to read the batch's rows back out of their JSON document. */
const COLUMN_TYPES: Readonly<Record<(typeof COLUMNS)[number], string>> = {
  id: 'text', merchant_id: 'text', status: 'text', amount: 'bigint', currency: 'text', customer_id: 'text', capture_method: 'text',
  amount_captured: 'bigint', amount_refunded: 'bigint', fee: 'bigint', net: 'bigint', failure_code: 'text', failure_message: 'text',
  description: 'text', metadata: 'jsonb', created_at: 'timestamptz', updated_at: 'timestamptz', revision: 'bigint',
  commit_position: 'numeric', prepare_position: 'bigint', state: 'jsonb',
};

/** One batch of the payments projection, folded in memory between `load` and `write`. */
export interface PaymentsBatch {
  /** Every payment the batch's events belong to: its row as folded so far, null before its first event. */
  readonly rows: Map<string, PaymentRowState | null>;
  /** The rows the batch changed, each in its last version. */
  readonly changed: Map<string, PaymentRow>;
}

async function loadPayments(events: readonly RecordedEvent[], tx: ProjectionTx): Promise<PaymentsBatch> {
  const ids = [...new Set(events.map((event) => paymentIdOfStream(event.streamId)))];
  // Rows are locked in id order, so that two writers of overlapping batches cannot deadlock.
  const { rows } = await tx.query<{ id: string; revision: string; state: Payment }>(
    `select id, revision, state from ${tx.table('payments')} where id = any($1::text[]) order by id for update`,
    [ids],
  );
  const batch: PaymentsBatch = { rows: new Map(ids.map((id) => [id, null])), changed: new Map() };
  for (const row of rows) batch.rows.set(row.id, { revision: Number(row.revision), state: row.state });
  return batch;
}

/** Folds one event into the batch, in memory. */
export function foldPaymentEvent(batch: PaymentsBatch, event: RecordedEvent): void {
  const id = paymentIdOfStream(event.streamId);
  const previous = batch.rows.get(id);
  if (previous === undefined) throw new Error(`payments projection: ${event.streamId} is not in the batch that was loaded`);
  const next = nextPaymentRow(previous, event);
  if (!next) return;
  if (next.id !== id) throw new Error(`payments projection: ${event.streamId} holds payment ${next.id}`);
  batch.rows.set(id, { revision: next.revision, state: next.state });
  batch.changed.set(id, next);
}

/**
 * A row's columns as a JSON object. A batch's rows go to Postgres as one document, parsed once
 * there (jsonb_to_recordset): far less work on both sides than a parameter, or an array, per column.
 */
function columnValues(row: PaymentRow): Record<(typeof COLUMNS)[number], unknown> {
  const [commit, prepare] = row.position.split(':');
  return {
    id: row.id, merchant_id: row.merchant_id, status: row.status, amount: row.amount, currency: row.currency, customer_id: row.customer_id,
    capture_method: row.capture_method, amount_captured: row.amount_captured, amount_refunded: row.amount_refunded, fee: row.fee,
    net: row.net, failure_code: row.failure_code, failure_message: row.failure_message, description: row.description,
    metadata: row.metadata, created_at: row.created_at, updated_at: row.updated_at, revision: row.revision,
    commit_position: commit, prepare_position: prepare, state: row.state,
  };
}

/** Every changed row in one upsert; a row already at a later revision is left as it is. */
async function writePayments(batch: PaymentsBatch, tx: ProjectionTx): Promise<void> {
  if (batch.changed.size === 0) return;
  const table = tx.table('payments');
  const updates = COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = excluded.${c}`).join(', ');
  await tx.query(
    `insert into ${table} (${COLUMNS.join(', ')})
     select ${COLUMNS.join(', ')} from jsonb_to_recordset($1::jsonb) as r(${COLUMNS.map((c) => `${c} ${COLUMN_TYPES[c]}`).join(', ')})
     on conflict (id) do update set ${updates} where ${table}.revision < excluded.revision`,
    [JSON.stringify([...batch.changed.values()].map(columnValues))],
  );
}

export const paymentsProjection: Projection = batchedProjection(
  { name: 'payments', tables: ['payments'], streamPrefix: PAYMENT_STREAM_PREFIX },
  { load: loadPayments, fold: foldPaymentEvent, write: writePayments },
);
