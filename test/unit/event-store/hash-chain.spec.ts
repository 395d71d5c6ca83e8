import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { eventHash, verifyChain } from '../../../infra/event-store/hash-chain';
import type { RecordedEvent } from '../../../ports/event-store';

const metadata = { correlation_id: 'c-1', causation_id: 'c-0', actor: 'merchant:m_1', source: 'api' };

describe('eventHash', () => {
  it('is the sha256 hex of the previous hash followed by the canonical event', () => {
    const hash = eventHash('ab12', {
      streamId: 'payment-1',
      revision: 3,
      id: '6f1c0e8a-0000-4000-8000-000000000001',
      type: 'PaymentCaptured',
      data: { net: 1426, amount_captured: 1500, fee: 74 },
      metadata,
      recordedAt: new Date('2024-05-01T12:34:56.789Z'),
    });

    const expected =
      'ab12' +
      '{"data":{"amount_captured":1500,"fee":74,"net":1426},"event_id":"6f1c0e8a-0000-4000-8000-000000000001",' +
      '"metadata":{"actor":"merchant:m_1","causation_id":"c-0","correlation_id":"c-1","source":"api"},' +
      '"recorded_at":"2024-05-01T12:34:56.789Z","revision":3,"stream_id":"payment-1","type":"PaymentCaptured"}';
    expect(hash).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('does not depend on the order of keys in data or metadata', () => {
    const base = { streamId: 's', revision: 0, id: randomUUID(), type: 'T', recordedAt: new Date(0) };
    expect(eventHash('', { ...base, data: { a: 1, b: { c: 2, d: 3 } }, metadata })).toBe(
      eventHash('', { ...base, data: { b: { d: 3, c: 2 }, a: 1 }, metadata: { ...metadata } }),
    );
  });
});

describe('verifyChain', () => {
  describe('when the stream is as written', () => {
    it('accepts it, and accepts an empty stream', () => {
      expect(verifyChain(chain(4))).toEqual({ ok: true });
      expect(verifyChain([])).toEqual({ ok: true });
    });
  });

  describe('when one event was edited', () => {
    it('names the edited revision as a hash mismatch, whichever field changed', () => {
      const edits: Array<(e: RecordedEvent) => RecordedEvent> = [
        (e) => ({ ...e, data: { ...e.data, amount: -1 } }),
        (e) => ({ ...e, metadata: { ...e.metadata, actor: 'mallory' } }),
        (e) => ({ ...e, type: 'Other' }),
        (e) => ({ ...e, id: randomUUID() }),
        (e) => ({ ...e, recordedAt: new Date(e.recordedAt.getTime() + 1) }),
      ];
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 8 }), fc.nat(), fc.constantFrom(...edits), (length, at, edit) => {
          const events = chain(length);
          const target = at % length;
          events[target] = edit(events[target]!);
          expect(verifyChain(events)).toEqual({ ok: false, revision: target, reason: 'hash_mismatch' });
        }),
      );
    });

    it('names the next revision when the edited event was re-hashed', () => {
      const events = chain(3);
      const forged = { ...events[1]!, data: { amount: 999 } };
      events[1] = { ...forged, hash: eventHash(forged.prevHash, forged) };

      expect(verifyChain(events)).toEqual({ ok: false, revision: 2, reason: 'prev_hash_mismatch' });
    });

    it('names revision 0 when the first event claims a previous hash', () => {
      const events = chain(2);
      const forged = { ...events[0]!, prevHash: 'ff' };
      events[0] = { ...forged, hash: eventHash(forged.prevHash, forged) };

      expect(verifyChain(events)).toEqual({ ok: false, revision: 0, reason: 'prev_hash_mismatch' });
    });
  });

  describe('when events are missing or out of order', () => {
    it('names the missing revision', () => {
      const events = chain(4);
      events.splice(2, 1);
      expect(verifyChain(events)).toEqual({ ok: false, revision: 2, reason: 'revision_gap' });
    });

    it('names a stream that does not start at revision 0', () => {
      expect(verifyChain(chain(3).slice(1))).toEqual({ ok: false, revision: 0, reason: 'revision_gap' });
    });

    it('names the first place two events were swapped', () => {
      const events = chain(3);
      [events[1], events[2]] = [events[2]!, events[1]!];
      expect(verifyChain(events)).toEqual({ ok: false, revision: 1, reason: 'revision_gap' });
    });
  });

  it('refuses events of two streams as a programming error', () => {
    expect(() => verifyChain([...chain(1, 'a'), ...chain(2, 'b').slice(1)])).toThrow(TypeError);
  });
});

function chain(length: number, streamId = `payment-${randomUUID()}`): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  let prevHash = '';
  for (let revision = 0; revision < length; revision++) {
    const content = {
      streamId,
      revision,
      id: randomUUID(),
      type: 'PaymentRequested',
      data: { amount: 1 + revision, currency: 'usd' },
      metadata,
      recordedAt: new Date(Date.UTC(2024, 0, 1, 0, 0, revision)),
    };
    const hash = eventHash(prevHash, content);
    events.push({ ...content, position: { commit: 10n, prepare: BigInt(revision + 1) }, prevHash, hash });
    prevHash = hash;
  }
  return events;
}
