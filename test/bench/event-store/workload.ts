import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { latency, type Latency } from '../harness';

/**
 * The workload both stores run, written once so that the ledger and Emmett are asked for exactly
 * the same appends: payment-like events, a number of writers appending for a fixed time, and a race
 * of duplicate creates on one stream. Each store plugs in through an Appender.
 */

export interface PaymentLikeEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly metadata: {
    readonly correlation_id: string;
    readonly causation_id: string;
    readonly actor: string;
    readonly source: string;
    readonly idempotency_key: string;
    readonly request_hash: string;
    readonly command: string;
  };
}

export interface Appender {
  /** Appends expecting the stream not to exist yet (the ledger's `no_stream`, Emmett's STREAM_DOES_NOT_EXIST). */
  create(streamId: string, events: readonly PaymentLikeEvent[]): Promise<void>;
  /** Appends after `revision`, the 0-based revision of the stream's last event. */
  appendAfter(streamId: string, events: readonly PaymentLikeEvent[], revision: number): Promise<void>;
  /** Whether `error` is the store's own typed conflict error. */
  isConflict(error: unknown): boolean;
}

export type StreamTarget = 'new' | 'existing';

export interface CaseArgs {
  readonly url: string;
  readonly writers: number;
  readonly eventsPerAppend: number;
  /** `new`: every append creates a stream with no_stream; `existing`: appends with an expected revision. */
  readonly streams: StreamTarget;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface CaseResult {
  readonly appends: number;
  readonly events: number;
  readonly seconds: number;
  readonly latency: Latency;
}

export interface RaceArgs {
  readonly url: string;
  /** One race per entry: how many appends race for each new stream. */
  readonly racers: readonly number[];
  readonly rounds: number;
  readonly connections: number;
}

export interface RaceResult {
  readonly racers: number;
  readonly rounds: number;
  /** How many of the racers' appends succeeded, in each round. */
  readonly winnersPerRound: number[];
  /** Losers that got the store's own conflict error. */
  readonly conflicts: number;
  /** Losers that failed some other way (first few messages). */
  readonly otherErrors: string[];
  /** Rounds in which one more no_stream append, made after the race, was refused as a conflict. */
  readonly lateDuplicatesRefused: number;
}

/** Streams each writer of an `existing` case cycles through, so no single streams row is updated by every append. */
const STREAMS_PER_WRITER = 50;

const PAYMENT_STREAM_PREFIX = 'payment-';
const REQUEST_HASH = createHash('sha256').update('POST /v1/payments {"amount":2000}').digest('hex');

const newStreamId = (): string => `${PAYMENT_STREAM_PREFIX}${randomUUID()}`;

/**
 * `count` events shaped like PaymentRequested (11 fields, 3 of them in its metadata map) with the
 * metadata the write API records, so that the JSON each store writes and hashes is as large as a
 * real payment's. As in the ledger's command layer, the events of one append share one metadata.
 */
export function paymentEvents(streamId: string, count: number): PaymentLikeEvent[] {
  const paymentId = streamId.slice(PAYMENT_STREAM_PREFIX.length);
  const idempotencyKey = `order-${paymentId.slice(-12)}`;
  const requestedAt = new Date().toISOString();
  const metadata = {
    correlation_id: randomUUID(),
    causation_id: randomUUID(),
    actor: 'merchant:acme',
    source: 'write-api',
    idempotency_key: idempotencyKey,
    request_hash: REQUEST_HASH,
    command: 'CreatePayment',
  };
  return Array.from({ length: count }, (_, index) => ({
    type: 'PaymentRequested',
    data: {
      payment_id: paymentId,
      merchant_id: 'acme',
      customer_id: `cus_${paymentId.slice(-12)}`,
      amount: 2000 + index,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      description: `Order ${idempotencyKey}: 2 x coffee beans, 1 x grinder`,
      metadata: { order_id: idempotencyKey, channel: 'web', sku: 'CB-250-ETH' },
      request_hash: REQUEST_HASH,
      requested_at: requestedAt,
    },
    metadata,
  }));
}

/** Bytes of JSON (data + metadata) of one event, for the settings. */
export function eventJsonBytes(): number {
  const [event] = paymentEvents(newStreamId(), 1);
  return Buffer.byteLength(JSON.stringify(event!.data)) + Buffer.byteLength(JSON.stringify(event!.metadata));
}

/**
 * Warms up (untimed), then runs `writers` concurrent loops of appends for `durationMs` and reports
 * what completed. The store's schema must already exist.
 */
export async function measureCase(appender: Appender, args: CaseArgs): Promise<CaseResult> {
  const appendOnce = args.streams === 'new' ? creatingAppends(appender, args) : await revisionAppends(appender, args);
  await drive(args.writers, args.warmupMs, appendOnce);
  const { samples, seconds } = await drive(args.writers, args.durationMs, appendOnce);
  return { appends: samples.length, events: samples.length * args.eventsPerAppend, seconds, latency: latency(samples) };
}

type AppendOnce = (writer: number) => Promise<void>;

function creatingAppends(appender: Appender, args: CaseArgs): AppendOnce {
  return async () => {
    const streamId = newStreamId();
    await appender.create(streamId, paymentEvents(streamId, args.eventsPerAppend));
  };
}

/** Creates each writer's streams (untimed) and appends to them in turn, each time after the revision last written. */
async function revisionAppends(appender: Appender, args: CaseArgs): Promise<AppendOnce> {
  const streams = Array.from({ length: args.writers }, () =>
    Array.from({ length: STREAMS_PER_WRITER }, () => ({ streamId: newStreamId(), revision: 0 })),
  );
  for (const own of streams) {
    await Promise.all(own.map(({ streamId }) => appender.create(streamId, paymentEvents(streamId, 1))));
  }
  const turn = new Array<number>(args.writers).fill(0);
  return async (writer) => {
    const stream = streams[writer]![turn[writer]!++ % STREAMS_PER_WRITER]!;
    await appender.appendAfter(stream.streamId, paymentEvents(stream.streamId, args.eventsPerAppend), stream.revision);
    stream.revision += args.eventsPerAppend;
  };
}

async function drive(writers: number, durationMs: number, appendOnce: AppendOnce): Promise<{ samples: number[]; seconds: number }> {
  const samples: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      while (performance.now() < deadline) {
        const begun = performance.now();
        await appendOnce(writer);
        samples.push(performance.now() - begun);
      }
    }),
  );
  return { samples, seconds: (performance.now() - started) / 1000 };
}

/** Runs raceNoStream for each number of racers in turn. */
export async function raceNoStreams(appender: Appender, args: RaceArgs): Promise<RaceResult[]> {
  const races: RaceResult[] = [];
  for (const racers of args.racers) races.push(await raceNoStream(appender, racers, args.rounds));
  return races;
}

/**
 * Races `racers` no_stream appends to one new stream, `rounds` times, then tries one more after
 * each race has settled. A store that enforces no_stream lets exactly one racer win, refuses the
 * rest with its conflict error, and refuses the late one too.
 */
async function raceNoStream(appender: Appender, racers: number, rounds: number): Promise<RaceResult> {
  const winnersPerRound: number[] = [];
  const otherErrors: string[] = [];
  let conflicts = 0;
  let lateDuplicatesRefused = 0;
  for (let round = 0; round < rounds; round++) {
    const streamId = newStreamId();
    const outcomes = await Promise.allSettled(Array.from({ length: racers }, () => appender.create(streamId, paymentEvents(streamId, 1))));
    winnersPerRound.push(outcomes.filter((o) => o.status === 'fulfilled').length);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      if (appender.isConflict(outcome.reason)) conflicts++;
      else if (otherErrors.length < 3) otherErrors.push(String(outcome.reason));
    }
    const late = await appender.create(streamId, paymentEvents(streamId, 1)).then(
      () => false,
      (error: unknown) => appender.isConflict(error),
    );
    if (late) lateDuplicatesRefused++;
  }
  return { racers, rounds, winnersPerRound, conflicts, otherErrors, lateDuplicatesRefused };
}

/** Whether a race shows no_stream enforced: one winner per round, every loser and late duplicate a conflict. */
export function enforcesNoStream(race: RaceResult): boolean {
  return (
    race.winnersPerRound.every((winners) => winners === 1) &&
    race.conflicts === race.rounds * (race.racers - 1) &&
    race.lateDuplicatesRefused === race.rounds
  );
}

export function describeRace(race: RaceResult): string {
  const winners = Math.max(...race.winnersPerRound);
  const verdict = enforcesNoStream(race) ? 'yes' : 'no';
  const late = `late duplicate refused in ${race.lateDuplicatesRefused} of ${race.rounds} rounds`;
  const others = race.otherErrors.length > 0 ? `; other errors: ${race.otherErrors.join(' | ')}` : '';
  return `no_stream enforced: ${verdict} (winners up to ${winners} of ${race.racers} over ${race.rounds} rounds; ${late}${others})`;
}
