import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compare, inFreshProcess, type BenchContext, type Benchmark, type BenchRow, type Figure } from '../harness';
import { describeRace, enforcesNoStream, eventJsonBytes, type CaseArgs, type CaseResult, type RaceArgs, type RaceResult, type StreamTarget } from './workload';

/**
 * Appends of the ledger's Postgres event store against Emmett's PostgreSQL event store on the same
 * server, each on a fresh database of its own. Each case runs each store in a fresh process: schema
 * created, tables emptied, a warm-up, then `writers` concurrent loops appending for a fixed time.
 * The two stores take turns case by case, so that a noisy neighbour weighs on both. Before the
 * cases each store is raced on duplicate creates, because a speed comparison only holds between
 * stores that give the same guarantee.
 */

const ID = 'event-store';
const LEDGER_SIDE = resolve(__dirname, 'ledger-side.ts');
const EMMETT_SIDE = resolve(__dirname, 'emmett-side.ts');
const GOAL_AT_16_WRITERS = 1.5;
/** Read from the installed package, so that the report names the version that ran. */
const EMMETT_VERSION = (
  JSON.parse(readFileSync(resolve(__dirname, '../baselines/node_modules/@event-driven-io/emmett-postgresql/package.json'), 'utf8')) as {
    version: string;
  }
).version;

interface Case {
  readonly writers: number;
  readonly eventsPerAppend: number;
  readonly streams: StreamTarget;
}

const CASES: readonly Case[] = [
  { writers: 1, eventsPerAppend: 1, streams: 'new' },
  { writers: 1, eventsPerAppend: 10, streams: 'new' },
  { writers: 16, eventsPerAppend: 1, streams: 'new' },
  { writers: 16, eventsPerAppend: 10, streams: 'new' },
  { writers: 16, eventsPerAppend: 1, streams: 'existing' },
];

/** Full size stays near two minutes: 5 cases x 2 stores x (warm-up + duration), plus process starts and the races. */
const sizes = (smoke: boolean) => (smoke ? { warmupMs: 200, durationMs: 1_000, raceRounds: 2 } : { warmupMs: 1_000, durationMs: 8_000, raceRounds: 5 });
type Sizes = ReturnType<typeof sizes>;

const RACERS = [16, 64];
/**
 * Every racer of the smaller race holds a connection at once; in the larger one the rest queue
 * for a connection and arrive as late duplicates, which a store must refuse just the same.
 */
const RACE_CONNECTIONS = 16;

interface Races {
  readonly ledger: RaceResult[];
  readonly emmett: RaceResult[];
}

export const benchmark: Benchmark = {
  id: ID,
  title: `Event store appends: ledger PostgresEventStore vs Emmett ${EMMETT_VERSION} (PostgreSQL)`,
  async run(ctx) {
    const size = sizes(ctx.smoke);
    const ledgerDb = await ctx.freshDatabase('ledger');
    const emmettDb = await ctx.freshDatabase('emmett');
    try {
      const races = await raceBothStores(ctx, ledgerDb.url, emmettDb.url, size.raceRounds);
      const rows: BenchRow[] = [];
      for (const c of CASES) {
        const args = { ...c, warmupMs: size.warmupMs, durationMs: size.durationMs };
        const ledger = await measureInFreshProcess('ledger PostgresEventStore', LEDGER_SIDE, 'measureLedger', { ...args, url: ledgerDb.url });
        const emmett = await measureInFreshProcess(`Emmett ${EMMETT_VERSION}`, EMMETT_SIDE, 'measureEmmett', { ...args, url: emmettDb.url });
        ctx.log(`${caseName(c)}: ledger ${Math.round(ledger.value)} appends/s, Emmett ${Math.round(emmett.value)} appends/s`);
        rows.push(
          compare({
            benchmark: ID,
            case: caseName(c),
            subject: ledger,
            baseline: emmett,
            ...(c.writers === 16 ? { goal: GOAL_AT_16_WRITERS } : {}),
            settings: settingsOf(ctx, c, size, races),
            notes: notesOf(c, races),
          }),
        );
      }
      return rows;
    } finally {
      await ledgerDb.drop();
      await emmettDb.drop();
    }
  },
};

async function raceBothStores(ctx: BenchContext, ledgerUrl: string, emmettUrl: string, rounds: number): Promise<Races> {
  const args = { racers: RACERS, rounds, connections: RACE_CONNECTIONS };
  const ledger = await inFreshProcess<RaceResult[]>(LEDGER_SIDE, 'raceLedger', { ...args, url: ledgerUrl } satisfies RaceArgs);
  const emmett = await inFreshProcess<RaceResult[]>(EMMETT_SIDE, 'raceEmmett', { ...args, url: emmettUrl } satisfies RaceArgs);
  ctx.log(`ledger: ${ledger.result.map(describeRace).join('; ')}`);
  ctx.log(`Emmett: ${emmett.result.map(describeRace).join('; ')}`);
  return { ledger: ledger.result, emmett: emmett.result };
}

async function measureInFreshProcess(name: string, side: string, exportName: string, args: CaseArgs): Promise<Figure> {
  const { result, peakRssMb } = await inFreshProcess<CaseResult>(side, exportName, args);
  return figureOf(name, result, peakRssMb);
}

function figureOf(name: string, result: CaseResult, peakRssMb: number): Figure {
  return {
    name,
    value: result.appends / result.seconds,
    unit: 'appends/s',
    latency: result.latency,
    peakRssMb,
    note: `${Math.round(result.events / result.seconds)} events/s (${result.appends} appends, ${result.events} events in ${result.seconds.toFixed(1)} s)`,
  };
}

function caseName(c: Case): string {
  const writers = `${c.writers} writer${c.writers === 1 ? '' : 's'}`;
  const events = `${c.eventsPerAppend} event${c.eventsPerAppend === 1 ? '' : 's'}/append`;
  const target = c.streams === 'new' ? 'new streams (no_stream)' : 'existing streams (expected revision)';
  return `${writers}, ${events}, ${target}`;
}

function settingsOf(ctx: BenchContext, c: Case, size: Sizes, races: Races): Record<string, string | number | boolean> {
  return {
    writers: c.writers,
    events_per_append: c.eventsPerAppend,
    streams: c.streams === 'new' ? 'a new stream per append, no_stream' : '50 existing streams per writer, in turn, expected revision',
    pool_connections: c.writers,
    warmup_s: size.warmupMs / 1000,
    duration_s: size.durationMs / 1000,
    event_json_bytes: eventJsonBytes(),
    event_shape: 'PaymentRequested data (11 fields, 3 in its metadata map) + 7 metadata fields',
    postgres: `${ctx.postgres.version} (${ctx.postgres.kind}), a fresh database per store, emptied before each case`,
    emmett: `@event-driven-io/emmett-postgresql ${EMMETT_VERSION}: getPostgreSQLEventStore with a pg pool of pool_connections, schema.migrate() before timing`,
    ledger_no_stream_enforced: races.ledger.every(enforcesNoStream),
    emmett_no_stream_enforced: races.emmett.every(enforcesNoStream),
    ledger_no_stream_race: races.ledger.map(describeRace).join('; '),
    emmett_no_stream_race: races.emmett.map(describeRace).join('; '),
  };
}

function notesOf(c: Case, races: Races): string[] {
  const notes = [`ledger: ${races.ledger.map(describeRace).join('; ')}`, `Emmett: ${races.emmett.map(describeRace).join('; ')}`];
  if (c.streams === 'new' && !races.emmett.every(enforcesNoStream)) {
    notes.push(
      "Emmett does not give the same guarantee: its STREAM_DOES_NOT_EXIST is not checked against the stream (the append function reads the stream's current position and appends after it), so only racers that all read the stream as absent end in its unique-key conflict, and a duplicate create that comes later is appended. Its figures here are for a weaker append than the ledger's no_stream, which is what makes duplicate payment creates safe.",
    );
  }
  if (c.streams === 'existing') {
    notes.push(
      'Both stores enforce an expected revision atomically (a compare-and-set update of the stream row). The ledger chains each event to the hash of the last one, which it takes from what it last read or wrote of the stream and checks in the same statement (reading it first when it has not seen it).',
    );
  }
  notes.push(
    'The ledger computes, on every append, a per-stream sha256 hash chain over RFC 8785 canonical JSON and keeps four indexes and a foreign key on its events table; Emmett stores no hash, and its messages table has its primary key only.',
    "On a conflict the ledger's StreamConflictError carries the stream's actual revision (one more query, on conflicts only); Emmett's ExpectedVersionConflictError reports -1.",
  );
  return notes;
}
