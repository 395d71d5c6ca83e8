import type { RecordedEvent } from '../ports/event-store';
import { formatPosition } from '../ports/event-store';
import { toPaymentEvent } from '../commands/payment-stream';
import type { Payment } from '../domain/payment.state';
import { evolve, initialState, isPayment } from '../domain/payment.state';
import { paymentView } from '../domain/payment.view';
import type { Projection, ProjectionTx } from './projection';

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

async function upsertPaymentRow(tx: ProjectionTx, row: PaymentRow): Promise<void> {
  const table = tx.table('payments');
  const [commit, prepare] = row.position.split(':');
  const values = [
    row.id, row.merchant_id, row.status, row.amount, row.currency, row.customer_id, row.capture_method, row.amount_captured,
    row.amount_refunded, row.fee, row.net, row.failure_code, row.failure_message, row.description, JSON.stringify(row.metadata),
    row.created_at, row.updated_at, row.revision, commit, prepare, JSON.stringify(row.state),
  ];
  const updates = COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = excluded.${c}`).join(', ');
  await tx.query(
    `insert into ${table} (${COLUMNS.join(', ')}) values (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
     on conflict (id) do update set ${updates} where ${table}.revision < excluded.revision`,
    values,
  );
}

export const paymentsProjection: Projection = {
  name: 'payments',
  tables: ['payments'],
  streamPrefix: PAYMENT_STREAM_PREFIX,
  async apply(event, tx) {
    const id = paymentIdOfStream(event.streamId);
    const { rows } = await tx.query<{ revision: string; state: Payment }>(
      `select revision, state from ${tx.table('payments')} where id = $1 for update`,
      [id],
    );
    const previous = rows[0] ? { revision: Number(rows[0].revision), state: rows[0].state } : null;
    const next = nextPaymentRow(previous, event);
    if (!next) return;
    if (next.id !== id) throw new Error(`payments projection: ${event.streamId} holds payment ${next.id}`);
    await upsertPaymentRow(tx, next);
  },
};
