import { Pool } from 'pg';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { migrate } from '../../../infra/postgres/migrate';
import { StreamConflictError, type EventStore } from '../../../ports/event-store';
import { measureCase, raceNoStreams, type Appender, type CaseArgs, type CaseResult, type RaceArgs, type RaceResult } from './workload';

/** The ledger's side, run by inFreshProcess so that its peak RSS is its own. */

export async function measureLedger(args: CaseArgs): Promise<CaseResult> {
  return withLedgerStore(args.url, args.writers, (appender) => measureCase(appender, args));
}

export async function raceLedger(args: RaceArgs): Promise<RaceResult[]> {
  return withLedgerStore(args.url, args.connections, (appender) => raceNoStreams(appender, args));
}

/** Each run starts from empty tables, whatever ran on the database before. */
async function withLedgerStore<T>(url: string, connections: number, work: (appender: Appender) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: url, max: connections });
  try {
    await migrate(pool);
    await pool.query('truncate events, streams');
    const store = createPostgresEventStore(pool);
    try {
      return await work(ledgerAppender(store));
    } finally {
      await store.close();
    }
  } finally {
    await pool.end();
  }
}

function ledgerAppender(store: EventStore): Appender {
  return {
    async create(streamId, events) {
      await store.append(streamId, events, 'no_stream');
    },
    async appendAfter(streamId, events, revision) {
      await store.append(streamId, events, revision);
    },
    isConflict: (error) => error instanceof StreamConflictError,
  };
}
