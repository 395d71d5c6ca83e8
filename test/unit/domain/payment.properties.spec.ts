import fc from 'fast-check';
import {
  decide,
  evolve,
  foldPayment,
  initialState,
  isPayment,
  MAX_AMOUNT,
  type Decision,
  type Payment,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentState,
  type PaymentStatus,
} from '../../../domain';
import { commandSequenceArb, isProcessorFact } from './support/arbitraries';

interface Step {
  readonly command: PaymentCommand;
  readonly before: PaymentState;
  readonly decision: Decision;
  readonly after: PaymentState;
}

/** Applies each command as the command handler does: decide on the current state, evolve by the result. */
function run(commands: readonly PaymentCommand[]): { steps: Step[]; stream: PaymentEvent[]; state: PaymentState } {
  let state = initialState();
  const stream: PaymentEvent[] = [];
  const steps: Step[] = [];
  for (const command of commands) {
    const before = state;
    const decision = decide(command, state);
    if ('events' in decision) {
      for (const event of decision.events) state = evolve(state, event);
      stream.push(...decision.events);
    }
    steps.push({ command, before, decision, after: state });
  }
  return { steps, stream, state };
}

const CAPTURED: readonly PaymentStatus[] = ['captured', 'partially_refunded', 'refunded'];

/** The invariants, restated here independently of the ones evolve asserts. */
function expectConsistent(p: Payment): void {
  const amounts = [p.amount, p.amountAuthorized, p.amountCaptured, p.amountRefunded, ...p.refunds.map((r) => r.amount)];
  for (const n of amounts) expect(Number.isInteger(n)).toBe(true);
  expect(p.amount).toBeGreaterThanOrEqual(1);
  expect(p.amount).toBeLessThanOrEqual(MAX_AMOUNT);
  expect(p.amountAuthorized).toBeLessThanOrEqual(p.amount);
  expect(p.amountCaptured).toBeLessThanOrEqual(p.amountAuthorized);
  expect(p.amountRefunded).toBeLessThanOrEqual(p.amountCaptured);
  const succeeded = p.refunds.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0);
  expect(p.amountRefunded).toBe(succeeded);
  expect(new Set(p.refunds.map((r) => r.refundId)).size).toBe(p.refunds.length);
  if (p.capture !== null) expect(p.capture.amount).toBeLessThanOrEqual(p.amountAuthorized);

  const captured = CAPTURED.includes(p.status) || (p.status !== 'failed' && p.amountCaptured > 0);
  if (captured) {
    expect(p.amountCaptured).toBeGreaterThan(0);
    expect(p.net).toBe(p.amountCaptured - (p.fee ?? Number.NaN));
    const expected = p.amountRefunded === 0 ? 'captured' : p.amountRefunded === p.amountCaptured ? 'refunded' : 'partially_refunded';
    expect(p.status).toBe(expected);
  } else {
    expect([p.amountCaptured, p.fee, p.net, p.amountRefunded, p.refunds.length]).toEqual([0, null, null, 0, 0]);
  }
  if (p.status === 'requested') expect(p.amountAuthorized).toBe(0);
  if (p.status === 'authorized') expect(p.amountAuthorized).toBeGreaterThan(0);
  expect(p.failure !== null).toBe(p.status === 'failed');
}

const NEXT: Readonly<Record<PaymentState['status'], readonly PaymentState['status'][]>> = {
  initial: ['requested'],
  requested: ['authorized', 'failed', 'canceled'],
  authorized: ['captured', 'failed', 'canceled'],
  captured: ['partially_refunded', 'refunded'],
  partially_refunded: ['refunded'],
  refunded: [],
  failed: [],
  canceled: [],
};

// Enough runs to reach refunds after reordered facts, while the suite stays well under ten seconds.
const RUNS = { numRuns: 400 };

describe('the payment decider, under arbitrary sequences of commands and facts', () => {
  it('never captures more than was authorized, nor refunds more than was captured', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        for (const { after } of run(commands).steps) {
          if (!isPayment(after)) continue;
          expect(after.amountCaptured).toBeLessThanOrEqual(after.amountAuthorized);
          expect(after.amountRefunded).toBeLessThanOrEqual(after.amountCaptured);
        }
      }),
      RUNS,
    );
  });

  it('keeps every state it passes through consistent', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        for (const { after } of run(commands).steps) if (isPayment(after)) expectConsistent(after);
      }),
      RUNS,
    );
  });

  it('moves the status only along the lifecycle, one event at a time', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        let state = initialState();
        for (const event of run(commands).stream) {
          const next = evolve(state, event);
          if (next.status !== state.status) expect(NEXT[state.status]).toContain(next.status);
          state = next;
        }
      }),
      RUNS,
    );
  });

  it('never moves a failed payment out of failed, nor adds to its stream', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        for (const { before, after, decision } of run(commands).steps) {
          if (before.status !== 'failed') continue;
          expect(after.status).toBe('failed');
          if ('events' in decision) expect(decision.events).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  it('decides the same fact twice to no events the second time', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        for (const { command, decision, after } of run(commands).steps) {
          if (!isProcessorFact(command)) continue;
          const again = decide(command, after);
          if ('events' in decision) expect(again).toEqual({ events: [] });
          else expect(again).toEqual(decision);
        }
      }),
      RUNS,
    );
  });

  it('decides a client command it has accepted to no events when it is repeated', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        for (const { command, decision, after } of run(commands).steps) {
          if (command.type === 'RequestPayment' || !('events' in decision)) continue;
          expect(decide(command, after)).toEqual({ events: [] });
        }
      }),
      RUNS,
    );
  });

  it('folds the stored stream, read back from JSON, to the state built step by step', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        const { stream, state } = run(commands);
        const stored = JSON.parse(JSON.stringify(stream)) as PaymentEvent[];
        const folded = foldPayment(stored);
        expect(folded).toEqual(state);
        if (isPayment(folded)) expectConsistent(folded);
      }),
      RUNS,
    );
  });

  it('decides deterministically and leaves the state it reads untouched', () => {
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        for (const { command, before, decision } of run(commands).steps) {
          const snapshot = structuredClone(before);
          expect(decide(command, before)).toEqual(decision);
          expect(before).toEqual(snapshot);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('reaches every status, so the properties above are not vacuous', () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(commandSequenceArb, (commands) => {
        for (const { after } of run(commands).steps) reached.add(after.status);
      }),
      RUNS,
    );
    expect([...reached].sort()).toEqual(['authorized', 'canceled', 'captured', 'failed', 'initial', 'partially_refunded', 'refunded', 'requested']);
  });
});
