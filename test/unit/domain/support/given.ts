import { decide, foldPayment, isPayment, type Decision, type Payment, type PaymentCommand, type PaymentEvent, type PaymentRejection } from '../../../../domain';

/**
 * Specification tests for the payment decider:
 *   given(history).when(command).then(expectedEvents)
 *   given(history).when(command).thenNothing()
 *   given(history).when(command).thenRejects('capture_exceeds_authorized')
 * `then` also folds the history with the new events, so an event that breaks an invariant of
 * `evolve` fails the spec even when it is the expected one.
 */
export function given(history: readonly PaymentEvent[]) {
  return {
    when(command: PaymentCommand) {
      // Deciding is deferred so that `thenThrows` can observe an assertion thrown by decide.
      const decision = (): Decision => decide(command, foldPayment(history));
      return {
        then(expected: readonly PaymentEvent[]): void {
          expect(decision()).toEqual({ events: expected });
          expect(() => foldPayment([...history, ...expected])).not.toThrow();
        },
        thenNothing(): void {
          expect(decision()).toEqual({ events: [] });
        },
        thenRejects(rejection: PaymentRejection): void {
          const result = decision();
          expect(result).toEqual({ rejected: rejection, detail: expect.any(String) });
          expect('detail' in result && result.detail.length > 0).toBe(true);
        },
        thenThrows(message: RegExp): void {
          expect(decision).toThrow(message);
        },
      };
    },
  };
}

/** The payment folded from `events`, which must hold one. */
export function paymentAfter(events: readonly PaymentEvent[]): Payment {
  const state = foldPayment(events);
  if (!isPayment(state)) throw new Error('the history holds no payment');
  return state;
}
