import fc from 'fast-check';
import { eventIdFor, withEventIds } from '../../../commands/ids';

const stream = 'payment-0b9f4c0e-5a55-5e0a-8f5e-3f1c0b7f2a10';
const capture = (amount: number, key: string) => ({
  type: 'CaptureRequested',
  data: { capture_id: `cap-${key}`, amount },
  metadata: { idempotency_key: key, command: 'CapturePayment', request_hash: `h-${amount}` },
});

describe('event ids', () => {
  it('are the same for the same event at the same revision, whatever the key order', () => {
    const event = capture(500, 'k1');
    const reordered = { metadata: { request_hash: 'h-500', command: 'CapturePayment', idempotency_key: 'k1' }, data: { amount: 500, capture_id: 'cap-k1' }, type: 'CaptureRequested' };
    expect(eventIdFor(stream, 3, event)).toBe(eventIdFor(stream, 3, reordered));
  });

  it('differ for two different events racing for one revision, so the second meets a conflict', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 10_000 }), fc.string(), fc.string(), (a, b, k1, k2) => {
        fc.pre(a !== b || k1 !== k2);
        expect(eventIdFor(stream, 3, capture(a, k1))).not.toBe(eventIdFor(stream, 3, capture(b, k2)));
      }),
    );
  });

  it('differ by revision and by stream', () => {
    const event = capture(500, 'k1');
    expect(eventIdFor(stream, 3, event)).not.toBe(eventIdFor(stream, 4, event));
    expect(eventIdFor(stream, 3, event)).not.toBe(eventIdFor('payment-other', 3, event));
  });

  it('are given to a batch from its first revision on', () => {
    const events = [capture(1, 'a'), capture(2, 'b')];
    expect(withEventIds(stream, 7, events).map((e) => e.id)).toEqual([eventIdFor(stream, 7, events[0]!), eventIdFor(stream, 8, events[1]!)]);
  });
});
