import { z } from 'zod';

/** Seeded fault injection. Every decision comes from a mulberry32 stream, never from Math.random. */
export const faultConfigSchema = z
  .object({
    seed: z.number().int(),
    error5xxRate: z.number().min(0).max(1).optional(),
    rateLimitRate: z.number().min(0).max(1).optional(),
    latencyMs: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
    timeoutRate: z.number().min(0).max(1).optional(),
    /** How long a timed-out request is held before its socket is dropped; default 30 s. */
    timeoutHoldMs: z.number().int().min(0).optional(),
    lostResponseRate: z.number().min(0).max(1).optional(),
    webhookDuplicateRate: z.number().min(0).max(1).optional(),
    webhookReorder: z.boolean().optional(),
    webhookDelayMs: z.number().int().min(0).optional(),
    webhookFailFirstRate: z.number().min(0).max(1).optional(),
  })
  .strict();

export type FaultConfig = z.infer<typeof faultConfigSchema>;

export const FAULT_KINDS = [
  'error5xx',
  'rateLimit',
  'latency',
  'timeout',
  'lostResponse',
  'webhookDuplicate',
  'webhookReorder',
  'webhookDelay',
  'webhookFailFirst',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ApiFaultDecision {
  error5xx: boolean;
  rateLimit: { shouldRetry: boolean } | null;
  timeout: boolean;
  latencyMs: number;
  lostResponse: boolean;
}

export const NO_FAULT: ApiFaultDecision = { error5xx: false, rateLimit: null, timeout: false, latencyMs: 0, lostResponse: false };

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Faults {
  config(): FaultConfig | null;
  /** Replaces the configuration and restarts both random streams from its seed. */
  set(config: FaultConfig | null): void;
  /** One decision per API request, in arrival order. */
  decideApi(): ApiFaultDecision;
  decideDelivery(firstAttempt: boolean): { failFirst: boolean; duplicate: boolean };
  reorder<T>(batch: T[]): T[];
  webhookDelayMs(): number;
  count(kind: FaultKind): void;
  stats(): Record<FaultKind, number>;
}

export function createFaults(initial: FaultConfig | null = null): Faults {
  let config: FaultConfig | null = null;
  let apiRandom: () => number = () => 1;
  let webhookRandom: () => number = () => 1;
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const count = (kind: FaultKind) => {
    counts[kind] += 1;
  };
  const set = (next: FaultConfig | null) => {
    config = next ? faultConfigSchema.parse(next) : null;
    apiRandom = mulberry32(config?.seed ?? 0);
    // A second stream for webhooks, so webhook traffic does not shift the decisions of API requests.
    webhookRandom = mulberry32((config?.seed ?? 0) ^ 0x5bd1e995);
  };
  set(initial);
  return {
    config: () => config,
    set,
    count,
    stats: () => ({ ...counts }),
    decideApi() {
      if (!config) return NO_FAULT;
      // Always draw the same number of values per request, so one rate set to 0 does not shift the others.
      const u5xx = apiRandom();
      const u429 = apiRandom();
      const uRetry = apiRandom();
      const uLatency = apiRandom();
      const uTimeout = apiRandom();
      const uLost = apiRandom();
      const [min, max] = config.latencyMs ?? [0, 0];
      const decision: ApiFaultDecision = {
        error5xx: u5xx < (config.error5xxRate ?? 0),
        rateLimit: null,
        timeout: false,
        latencyMs: max > min ? min + Math.floor(uLatency * (max - min + 1)) : min,
        lostResponse: false,
      };
      if (!decision.error5xx && u429 < (config.rateLimitRate ?? 0)) decision.rateLimit = { shouldRetry: uRetry < 0.5 };
      if (!decision.error5xx && !decision.rateLimit) {
        decision.timeout = uTimeout < (config.timeoutRate ?? 0);
        decision.lostResponse = !decision.timeout && uLost < (config.lostResponseRate ?? 0);
      }
      return decision;
    },
    decideDelivery(firstAttempt) {
      if (!config) return { failFirst: false, duplicate: false };
      const uFail = webhookRandom();
      const uDuplicate = webhookRandom();
      return {
        failFirst: firstAttempt && uFail < (config.webhookFailFirstRate ?? 0),
        duplicate: uDuplicate < (config.webhookDuplicateRate ?? 0),
      };
    },
    reorder<T>(batch: T[]): T[] {
      if (!config?.webhookReorder || batch.length < 2) return batch;
      const out = [...batch];
      for (let i = out.length - 1; i > 0; i -= 1) {
        const j = Math.floor(webhookRandom() * (i + 1));
        [out[i], out[j]] = [out[j] as T, out[i] as T];
      }
      count('webhookReorder');
      return out;
    },
    webhookDelayMs: () => config?.webhookDelayMs ?? 0,
  };
}
