/**
 * What a chaos run does, read from the environment so that CI and a long soak run the same file.
 * Every random choice of the run (the flows, the Stripe faults, the kill schedule) derives from `seed`.
 */
export interface ChaosOptions {
  readonly seed: number;
  readonly payments: number;
  /** The least time chaos lasts; it goes on until the driver has sent every flow. */
  readonly seconds: number;
  /** Mean time between two kills; each gap is drawn from [0.5, 1.5] times this. */
  readonly killEveryMs: number;
  /** Flows in flight at once. */
  readonly concurrency: number;
  /** How long the system gets to settle once chaos stops. */
  readonly quiescenceMs: number;
  /** Keep the database (and print its URL) after the run, to look at it. */
  readonly keep: boolean;
  readonly databaseUrl: string;
  readonly redisUrl: string;
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${raw}: expected an integer from ${min} to ${max}`);
  }
  return value;
}

export function chaosOptions(): ChaosOptions {
  const payments = integer('CHAOS_PAYMENTS', 300, 1, 1_000_000);
  return {
    seed: integer('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 31 - 1),
    payments,
    seconds: integer('CHAOS_SECONDS', 60, 1, 86_400),
    killEveryMs: integer('CHAOS_KILL_EVERY_MS', 4_000, 200, 3_600_000),
    concurrency: integer('CHAOS_CONCURRENCY', 24, 1, 1_000),
    quiescenceMs: integer('CHAOS_QUIESCENCE_MS', Math.max(120_000, payments * 100), 10_000, 86_400_000),
    keep: process.env.CHAOS_KEEP === '1',
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.REDIS_URL || process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379',
  };
}
