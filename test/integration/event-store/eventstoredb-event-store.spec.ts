import { randomUUID } from 'node:crypto';
import { createEventStoreDbEventStore, derivedEventId, eventStoreDbClient } from '../../../infra/event-store/eventstoredb-event-store';
import type { NewEvent } from '../../../ports/event-store';
import { eventStoreContract } from './event-store.contract';

/**
 * The event-store contract against a real EventStoreDB / KurrentDB, e.g.
 *   EVENTSTORE_URL='esdb://127.0.0.1:2113?tls=false' npx jest test/integration/event-store --selectProjects integration
 * Without EVENTSTORE_URL the contract is not registered at all (nothing shows as skipped): no
 * EventStoreDB server runs on the machines this project is built and tested on. What runs
 * everywhere is below: the parts of the adapter that need no server.
 */
const url = process.env.EVENTSTORE_URL;

if (url) {
  eventStoreContract('eventstoredb', async () => {
    const store = createEventStoreDbEventStore(eventStoreDbClient(url));
    return { store, teardown: () => store.close() };
  });
}

describe('the EventStoreDB adapter, without a server', () => {
  const event = (data: Record<string, unknown>): NewEvent => ({
    type: 'PaymentRequested',
    data,
    metadata: { correlation_id: 'c-1', causation_id: 'c-1', actor: 'spec', source: 'test' },
  });

  describe('when it derives event ids for events that come without one', () => {
    it('gives the same batch at the same revision the same ids, so that ESDB answers a retried append idempotently', () => {
      const streamId = `payment-${randomUUID()}`;
      expect(derivedEventId(streamId, 3, 0, event({ amount: 100 }))).toBe(derivedEventId(streamId, 3, 0, event({ amount: 100 })));
      expect(derivedEventId(streamId, 3, 0, event({ amount: 100 }))).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('gives different ids to a different revision, index, stream or content', () => {
      const streamId = `payment-${randomUUID()}`;
      const ids = new Set([
        derivedEventId(streamId, 3, 0, event({ amount: 100 })),
        derivedEventId(streamId, 4, 0, event({ amount: 100 })),
        derivedEventId(streamId, 'no_stream', 0, event({ amount: 100 })),
        derivedEventId(streamId, 3, 1, event({ amount: 100 })),
        derivedEventId(`${streamId}x`, 3, 0, event({ amount: 100 })),
        derivedEventId(streamId, 3, 0, event({ amount: 101 })),
      ]);
      expect(ids.size).toBe(6);
    });
  });

  describe('when it is given a connection string', () => {
    it('refuses one that is not an esdb:// connection string before any network call', () => {
      expect(() => eventStoreDbClient('postgres://localhost:5432/x')).toThrow();
    });

    it('accepts an esdb:// connection string without connecting yet', async () => {
      const store = createEventStoreDbEventStore(eventStoreDbClient('esdb://127.0.0.1:2113?tls=false'));
      await expect(store.append('s', [], 'any')).rejects.toThrow(TypeError);
      await store.close();
    });
  });
});
