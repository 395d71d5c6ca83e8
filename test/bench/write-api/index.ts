// write-api: the highest rate of POST /v1/payments the write API sustains under an open loop
// (p99 within 50 ms, no error), against the ceiling of raw single-row INSERTs through `pg` with
// as many connections as the write API's pool, on the same Postgres in the same run.
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { loadConfig } from '../../../infra/config';
import { createApiKey } from '../../../infra/auth/api-keys';
import { compare, inFreshProcess, type BenchContext, type Benchmark, type Figure } from '../harness';
import { CREATE_BODY, createPaymentClient } from './create-client';
import { startLedgerProcess } from './ledger-process';
import { describeStep, offer, searchSustainedRate, type SearchOptions, type SearchResult, type StepOptions } from './open-loop';
import type { CeilingResult, RawInsertArgs } from './raw-insert';

const RAW_INSERT_MODULE = resolve(__dirname, 'raw-insert.ts');
const P99_LIMIT_MS = 50;
const GOAL = 0.5;
/** Connections the generator may open to the write API; beyond them requests wait in the client, on the clock. */
const MAX_SOCKETS = 256;

interface Sizes {
  readonly stepSeconds: number;
  readonly startRate: number;
  readonly maxRate: number;
  readonly bisections: number;
  readonly attempts: number;
  readonly drainMs: number;
  readonly warmupSeconds: number;
  readonly ceilingSeconds: number;
}

const FULL: Sizes = { stepSeconds: 5, startRate: 50, maxRate: 25_600, bisections: 3, attempts: 2, drainMs: 10_000, warmupSeconds: 2, ceilingSeconds: 10 };
const SMOKE: Sizes = { stepSeconds: 1, startRate: 20, maxRate: 40, bisections: 0, attempts: 1, drainMs: 5_000, warmupSeconds: 0.5, ceilingSeconds: 1 };

export const benchmark: Benchmark = {
  id: 'write-api',
  title: 'Write API: sustained POST /v1/payments rate under an open loop, against raw pg INSERTs',
  async run(ctx) {
    const sizes = ctx.smoke ? SMOKE : FULL;
    const search = (startRate: number): SearchOptions => ({
      seconds: sizes.stepSeconds,
      p99LimitMs: P99_LIMIT_MS,
      drainMs: sizes.drainMs,
      startRate,
      maxRate: sizes.maxRate,
      minRate: 5,
      bisections: sizes.bisections,
      attempts: sizes.attempts,
    });

    const subject = await measureWriteApi(ctx, sizes, search(sizes.startRate));
    const baseline = await measureRawInserts(ctx, sizes, {
      connections: subject.poolSize,
      payload: subject.samplePayload,
      // Where the write API's search ended, so that the baseline's search spends its steps near its own limit.
      search: search(Math.max(sizes.startRate, subject.search.best?.rate ?? 0)),
    });

    const api: Figure = {
      name: 'ledger write API, open loop',
      value: subject.search.best?.rate ?? 0,
      unit: 'requests/s',
      ...(subject.search.best ? { latency: subject.search.best.latency } : {}),
      peakRssMb: subject.peakRssMb,
      note: `highest offered rate of creates with every answer 202 and p99 ≤ ${P99_LIMIT_MS} ms from the scheduled send`,
    };
    const settings = {
      'write API pool (DB_POOL_SIZE)': subject.poolSize,
      'baseline connections': subject.poolSize,
      'p99 limit (ms)': P99_LIMIT_MS,
      'step (s)': sizes.stepSeconds,
      search: `double from ${sizes.startRate}/s (baseline: from the write API's rate) until a rate fails ${sizes.attempts === 1 ? 'once' : `${sizes.attempts} tries in a row`}, then ${sizes.bisections} bisections`,
      'ceiling (s)': sizes.ceilingSeconds,
      RATE_LIMIT_PER_KEY: subject.rateLimitPerKey,
      REDIS_URL: 'unset: rate-limit counters in the process',
      LOG_LEVEL: 'info: one request log line per request, written to /dev/null',
      client: `node:http keep-alive, up to ${MAX_SOCKETS} sockets, in the benchmark process`,
      body: CREATE_BODY,
      'event jsonb bytes (data + metadata)': subject.eventJsonbBytes,
      'baseline payload jsonb bytes': baseline.payloadJsonbBytes,
      synchronous_commit: baseline.synchronousCommit,
      postgres: `${baseline.serverVersion} (${ctx.postgres.kind})`,
    };
    const notes = [
      'Each create is one HTTP request to a separate `ledger start --role write-api` process: the API key looked up in api_keys, then PaymentRequested appended with no_stream through the Postgres event store (the stream is read only when the key was used before), with helmet, zod validation, the canonical-JSON request hash, the hash chain, metrics and a request log line. The raw INSERT is one autocommitted row: no authentication, idempotency, validation, hash chain or HTTP. Both commit durably (synchronous_commit as set).',
      'Latency is from the scheduled send time, so a late send of the generator (a starved event loop on a busy machine) counts against the system measured; each step lists the p99 of that send lag.',
      `write API steps: ${subject.search.steps.map(describeStep).join('; ')}`,
      `raw INSERT open-loop steps: ${baseline.openLoop.steps.map(describeStep).join('; ')}`,
      ...reachedMaxRate(subject.search, 'write API'),
      ...reachedMaxRate(baseline.openLoop, 'raw INSERT'),
    ];

    return [
      compare({
        benchmark: 'write-api',
        case: `create payment, open loop (p99 ≤ ${P99_LIMIT_MS} ms, no errors) vs raw INSERT ceiling, ${subject.poolSize} connections`,
        subject: api,
        baseline: {
          name: 'raw pg INSERT, closed loop',
          value: baseline.ceiling.insertsPerSecond,
          unit: 'inserts/s',
          latency: baseline.ceiling.latency,
          peakRssMb: baseline.ceilingPeakRssMb,
          note: `${subject.poolSize} clients inserting one row after another: the most the database takes`,
        },
        goal: GOAL,
        settings,
        notes,
      }),
      compare({
        benchmark: 'write-api',
        case: `create payment vs raw INSERT, both under the open-loop search (p99 ≤ ${P99_LIMIT_MS} ms, no errors)`,
        subject: api,
        baseline: {
          name: 'raw pg INSERT, open loop',
          value: baseline.openLoop.best?.rate ?? 0,
          unit: 'inserts/s',
          ...(baseline.openLoop.best ? { latency: baseline.openLoop.best.latency } : {}),
          peakRssMb: baseline.openLoopPeakRssMb,
        },
        settings,
        notes,
      }),
    ];
  },
};

interface WriteApiMeasurement {
  readonly search: SearchResult;
  readonly peakRssMb: number;
  readonly poolSize: number;
  readonly rateLimitPerKey: number;
  readonly samplePayload: Record<string, unknown>;
  readonly eventJsonbBytes: number;
}

async function measureWriteApi(ctx: BenchContext, sizes: Sizes, search: SearchOptions): Promise<WriteApiMeasurement> {
  const database = await ctx.freshDatabase('subject');
  // The limit is per key per minute; a billion is no limit within one step.
  const settings = { DATABASE_URL: database.url, RATE_LIMIT_PER_KEY: '1000000000', LOG_LEVEL: 'info' };
  const config = loadConfig(settings);
  const profileDir = process.env.BENCH_WRITE_API_CPU_PROF;
  try {
    const server = await startLedgerProcess({
      role: 'write-api',
      settings,
      ...(profileDir ? { nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
    });
    const client = createPaymentClient(server.url, await newApiKey(database.url), MAX_SOCKETS);
    let steps = 0;
    const probe = (rate: number, options: StepOptions = search) => offer(client.sender(`bench-${(steps += 1)}`), rate, options);
    try {
      ctx.log(`write API (pid ${server.pid}) at ${server.url}; warming up`);
      await probe(sizes.startRate, { ...search, seconds: sizes.warmupSeconds });
      const result = await searchSustainedRate(probe, search, (line) => ctx.log(`write API ${line}`));
      const peakRssMb = server.peakRssMb();
      return { search: result, peakRssMb, poolSize: config.DB_POOL_SIZE, rateLimitPerKey: config.RATE_LIMIT_PER_KEY, ...(await sampleEvent(database.url)) };
    } finally {
      client.close();
      await server.stop();
    }
  } finally {
    await database.drop();
  }
}

/** An API key with payments:write, made as `ledger api-keys create` makes it. */
async function newApiKey(databaseUrl: string): Promise<string> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    return (await createApiKey(pool, { merchantId: 'bench-merchant', scopes: ['payments:write'] })).key;
  } finally {
    await pool.end();
  }
}

/** One stored event's data and metadata, the baseline's row payload, and the average stored size. */
async function sampleEvent(databaseUrl: string): Promise<{ samplePayload: Record<string, unknown>; eventJsonbBytes: number }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const sample = await pool.query<{ data: Record<string, unknown>; metadata: Record<string, unknown> }>('select data, metadata from events limit 1');
    const size = await pool.query<{ bytes: number }>('select avg(pg_column_size(data) + pg_column_size(metadata))::int as bytes from events');
    const event = sample.rows[0];
    if (!event) throw new Error('the write API stored no event');
    return { samplePayload: { data: event.data, metadata: event.metadata }, eventJsonbBytes: size.rows[0]!.bytes };
  } finally {
    await pool.end();
  }
}

interface RawInsertMeasurement {
  readonly ceiling: CeilingResult;
  readonly ceilingPeakRssMb: number;
  readonly openLoop: SearchResult;
  readonly openLoopPeakRssMb: number;
  readonly payloadJsonbBytes: number;
  readonly synchronousCommit: string;
  readonly serverVersion: string;
}

async function measureRawInserts(
  ctx: BenchContext,
  sizes: Sizes,
  input: { connections: number; payload: Record<string, unknown>; search: SearchOptions },
): Promise<RawInsertMeasurement> {
  const database = await ctx.freshDatabase('baseline');
  try {
    const args: RawInsertArgs = { databaseUrl: database.url, connections: input.connections, payload: input.payload };
    ctx.log(`raw INSERT ceiling: ${input.connections} clients for ${sizes.ceilingSeconds} s`);
    const ceiling = await inFreshProcess<CeilingResult>(RAW_INSERT_MODULE, 'rawInsertCeiling', {
      ...args,
      seconds: sizes.ceilingSeconds,
      warmupSeconds: sizes.warmupSeconds,
    });
    ctx.log(`raw INSERT ceiling: ${Math.round(ceiling.result.insertsPerSecond)}/s, p99 ${ceiling.result.latency.p99.toFixed(1)} ms`);
    const openLoop = await inFreshProcess<SearchResult>(RAW_INSERT_MODULE, 'rawInsertOpenLoop', {
      ...args,
      search: input.search,
      warmupRate: sizes.startRate,
    });
    return {
      ceiling: ceiling.result,
      ceilingPeakRssMb: ceiling.peakRssMb,
      openLoop: openLoop.result,
      openLoopPeakRssMb: openLoop.peakRssMb,
      ...(await databaseFacts(database.url)),
    };
  } finally {
    await database.drop();
  }
}

async function databaseFacts(databaseUrl: string): Promise<{ payloadJsonbBytes: number; synchronousCommit: string; serverVersion: string }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const size = await pool.query<{ bytes: number }>('select avg(pg_column_size(payload))::int as bytes from raw_payments');
    const commit = await pool.query<{ synchronous_commit: string }>('show synchronous_commit');
    const version = await pool.query<{ server_version: string }>('show server_version');
    return {
      payloadJsonbBytes: size.rows[0]!.bytes,
      synchronousCommit: commit.rows[0]!.synchronous_commit,
      serverVersion: version.rows[0]!.server_version,
    };
  } finally {
    await pool.end();
  }
}

function reachedMaxRate(result: SearchResult, what: string): string[] {
  return result.reachedMaxRate ? [`${what}: the highest rate tried was sustained, so its limit is higher than reported`] : [];
}
