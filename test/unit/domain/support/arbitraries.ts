import fc from 'fast-check';
import type { PaymentCommand, ProcessorFact } from '../../../../domain';
import {
  cancelPayment,
  capturePayment,
  recordAuthorization,
  recordCancellation,
  recordCapture,
  recordFailure,
  recordRefund,
  recordRefundFailure,
  refundPayment,
  requestPayment,
} from './builders';

/**
 * Commands drawn from small pools of ids and amounts, so that random sequences collide: the same
 * capture id twice, a refund fact for a refund the ledger requested, amounts at and around the
 * payment amount.
 */

const PAYMENT_AMOUNTS = [1, 1_000, 10_000] as const;
// Mostly whole and half of the usual payment, so that captures and refunds add up exactly; then
// the boundaries around it; now and then anything.
const amount = fc.oneof(
  { arbitrary: fc.constantFrom(5_000, 10_000), weight: 5 },
  { arbitrary: fc.constantFrom(1, 999, 1_000, 1_001, 9_999, 10_001), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 11_000 }), weight: 1 },
);
const optionalAmount = fc.option(amount, { freq: 3 });
const time = fc.integer({ min: 0, max: 3_600 }).map((s) => new Date(Date.UTC(2025, 2, 1, 10, 0, s)).toISOString());

export const requestPaymentArb = fc
  .record({ amount: fc.constantFrom(...PAYMENT_AMOUNTS, 10_000, 10_000), now: time })
  .map((fields) => requestPayment(fields));

const clientCommandArb: fc.Arbitrary<PaymentCommand> = fc.oneof(
  fc.record({ captureId: fc.constantFrom('cap_1', 'cap_2'), amount: optionalAmount, now: time }).map((f) => capturePayment(f)),
  fc.record({ reason: fc.constantFrom('requested_by_customer', 'duplicate'), now: time }).map((f) => cancelPayment(f)),
  fc.record({ refundId: fc.constantFrom('ref_1', 'ref_2', 'ref_3'), amount: optionalAmount, now: time }).map((f) => refundPayment(f)),
);

export const processorFactArb: fc.Arbitrary<ProcessorFact> = fc.oneof(
  fc.record({ amountAuthorized: amount, authorizedAt: time }).map((f) => recordAuthorization(f)),
  fc
    .record({
      captureId: fc.constantFrom('cap_1', 'cap_2', 'cap_auto'),
      processorChargeId: fc.constantFrom('ch_1', 'ch_2'),
      amountCaptured: amount,
      fee: fc.integer({ min: 0, max: 400 }),
      capturedAt: time,
    })
    .map((f) => recordCapture(f)),
  fc.record({ stage: fc.constantFrom('authorization' as const, 'capture' as const), failedAt: time }).map((f) => recordFailure(f)),
  fc.record({ reason: fc.constantFrom('requested_by_customer', 'expired'), canceledAt: time }).map((f) => recordCancellation(f)),
  fc
    .record({
      refundId: fc.constantFrom('ref_1', 'ref_2', 'ref_3', 'ref_dash'),
      processorRefundId: fc.constantFrom('re_1', 're_2', 're_3', 're_4'),
      amount,
      refundedAt: time,
    })
    .map((f) => recordRefund(f)),
  fc.record({ refundId: fc.constantFrom('ref_1', 'ref_2', 'ref_3', 'ref_dash'), failedAt: time }).map((f) => recordRefundFailure(f)),
);

export const paymentCommandArb: fc.Arbitrary<PaymentCommand> = fc.oneof(clientCommandArb, processorFactArb, requestPaymentArb);

/** Anything at all: a handful of distinct commands, repeated (duplicated webhooks, retried jobs) in any order. */
const chaoticSequenceArb: fc.Arbitrary<readonly PaymentCommand[]> = fc
  .tuple(
    fc.option(requestPaymentArb, { freq: 10 }),
    fc.array(paymentCommandArb, { minLength: 1, maxLength: 10 }).chain((pool) => fc.array(fc.constantFrom(...pool), { maxLength: 40 })),
  )
  .map(([request, rest]) => (request === null ? rest : [request, ...rest]));

/** What a payment that goes all the way is told: authorized, captured, refunded in two parts. */
function fullLife(amount: number): PaymentCommand[] {
  const half = Math.floor(amount / 2);
  return [
    recordAuthorization({ amountAuthorized: amount }),
    capturePayment({ captureId: 'cap_1', amount: null }),
    recordCapture({ captureId: 'cap_1', amountCaptured: amount }),
    refundPayment({ refundId: 'ref_1', amount: half }),
    recordRefund({ refundId: 'ref_1', processorRefundId: 're_1', amount: half }),
    refundPayment({ refundId: 'ref_2', amount: null }),
    recordRefund({ refundId: 'ref_2', processorRefundId: 're_2', amount: amount - half }),
  ];
}

/**
 * A plausible life, disturbed: some steps left out, random commands slipped in, neighbours
 * swapped (facts overtaking each other) and steps repeated later (redeliveries). Random sequences
 * alone rarely get as far as a refund; these do.
 */
const disturbedLifeArb: fc.Arbitrary<readonly PaymentCommand[]> = fc
  .record({
    request: requestPaymentArb,
    kept: fc.array(fc.constantFrom(true, true, true, true, false), { minLength: 7, maxLength: 7 }),
    noise: fc.array(fc.tuple(paymentCommandArb, fc.nat()), { maxLength: 5 }),
    swaps: fc.array(fc.nat(), { maxLength: 4 }),
    repeats: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }),
  })
  .map(({ request, kept, noise, swaps, repeats }) => {
    const commands = fullLife(request.amount).filter((_, i) => kept[i]);
    for (const [command, at] of noise) commands.splice(at % (commands.length + 1), 0, command);
    for (const at of swaps) {
      if (commands.length < 2) break;
      const i = at % (commands.length - 1);
      [commands[i], commands[i + 1]] = [commands[i + 1]!, commands[i]!];
    }
    for (const [from, to] of repeats) {
      if (commands.length === 0) break;
      const i = from % commands.length;
      commands.splice(i + 1 + (to % (commands.length - i)), 0, commands[i]!);
    }
    return [request, ...commands];
  });

export const commandSequenceArb: fc.Arbitrary<readonly PaymentCommand[]> = fc.oneof(chaoticSequenceArb, disturbedLifeArb);

export function isProcessorFact(command: PaymentCommand): command is ProcessorFact {
  return command.type.startsWith('Record');
}
