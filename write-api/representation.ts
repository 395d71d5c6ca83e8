import type { Position } from '../ports/event-store';
import { formatPosition } from '../ports/event-store';
import type { Payment } from '../domain/payment.state';
import { paymentView, refundView } from '../domain/payment.view';

/** The payment as the write API returns it: the view plus where the stream stands. */
export function paymentRepresentation(payment: Payment, revision: number, position: Position) {
  const { merchant_id: _merchant, ...view } = paymentView(payment);
  return { ...view, revision, position: formatPosition(position) };
}

export function refundRepresentation(payment: Payment, refundId: string, revision: number, position: Position) {
  const view = refundView(payment, refundId);
  if (!view) throw new Error(`refund ${refundId} is not in payment ${payment.paymentId}`);
  return { ...view, revision, position: formatPosition(position) };
}
