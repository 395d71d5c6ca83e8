// An open-loop load generator and the search for the highest rate a system sustains.
//
// Open loop: request i is sent at start + i / rate whatever the answers so far, and its latency is
// measured from that scheduled time. A system that falls behind therefore shows its queue in the
// latency (a closed loop would wait for answers, send less, and hide it), and a generator that
// falls behind (a starved event loop) is charged to the system too, which only errs on the side of
// a lower sustained rate.
import { latency, type Latency } from '../harness';

/** Sends request `index`; resolves when it was answered as a success, rejects otherwise. */
export type Send = (index: number) => Promise<void>;

export interface StepResult {
  /** Offered requests per second. */
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly errors: number;
  readonly firstError: string | null;
  /** Of the successful answers, from each request's scheduled send time, in ms. */
  readonly latency: Latency;
  /** How late the generator sent each request after its scheduled time, in ms (already in `latency`). */
  readonly sendLag: Latency;
  readonly sustained: boolean;
}

export interface StepOptions {
  readonly seconds: number;
  /** A step is sustained when it has no error and its p99 is at most this. */
  readonly p99LimitMs: number;
  /** How long after the last scheduled send answers are still waited for; later ones are errors. */
  readonly drainMs: number;
}

export async function offer(send: Send, rate: number, options: StepOptions): Promise<StepResult> {
  const total = Math.max(1, Math.round(rate * options.seconds));
  const intervalMs = 1000 / rate;
  const samples: number[] = [];
  const lags: number[] = [];
  const pending = new Set<Promise<void>>();
  let errors = 0;
  let firstError: string | null = null;
  let counting = true;

  const fire = (index: number, scheduledAt: number) => {
    lags.push(performance.now() - scheduledAt);
    const request = send(index).then(
      () => {
        if (counting) samples.push(performance.now() - scheduledAt);
      },
      (error: unknown) => {
        if (!counting) return;
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      },
    );
    pending.add(request);
    void request.finally(() => pending.delete(request));
  };

  const start = performance.now();
  for (let index = 0; index < total; ) {
    const now = performance.now();
    // Every request whose time has come goes now, so a late timer does not lower the offered rate.
    while (index < total && start + index * intervalMs <= now) {
      fire(index, start + index * intervalMs);
      index += 1;
    }
    if (index < total) await sleep(start + index * intervalMs - performance.now());
  }

  const drained = await Promise.race([Promise.all([...pending]).then(() => true), sleep(options.drainMs).then(() => false)]);
  counting = false;
  if (!drained) {
    errors += pending.size;
    firstError ??= `${pending.size} requests unanswered ${options.drainMs} ms after the last send`;
  }
  // The late ones are not counted, but the next step must not start on top of them.
  await Promise.all([...pending]);

  const measured = latency(samples);
  return {
    rate,
    seconds: options.seconds,
    sent: total,
    errors,
    firstError,
    latency: measured,
    sendLag: latency(lags),
    sustained: errors === 0 && measured.p99 <= options.p99LimitMs,
  };
}

export interface SearchOptions extends StepOptions {
  readonly startRate: number;
  /** No rate above this is tried: the search reports the ceiling as reached. */
  readonly maxRate: number;
  /** Below this the search gives up: nothing is sustained. */
  readonly minRate: number;
  /** Halvings of the interval between the last sustained and the first failed rate. */
  readonly bisections: number;
  /**
   * Tries at a rate before it counts as not sustained. On a shared machine a stall of someone
   * else's (a burst of fsyncs, a CPU hog) can fail one step; a second try keeps such a stall from
   * ending the search. It favours the system as much in the baseline as in the subject.
   */
  readonly attempts: number;
}

export interface SearchResult {
  /** The highest sustained step, or null when even minRate was not. */
  readonly best: StepResult | null;
  readonly steps: readonly StepResult[];
  /** True when maxRate itself was sustained, so the real limit is higher. */
  readonly reachedMaxRate: boolean;
}

/**
 * Doubles the rate from startRate until a rate is not sustained (or halves it until one is), then
 * bisects between the last sustained and the first failed rate.
 */
export async function searchSustainedRate(
  probe: (rate: number) => Promise<StepResult>,
  options: SearchOptions,
  log: (line: string) => void,
): Promise<SearchResult> {
  const steps: StepResult[] = [];
  const step = async (rate: number) => {
    let result: StepResult;
    let attempt = 0;
    do {
      result = await probe(rate);
      attempt += 1;
      steps.push(result);
      log(describeStep(result));
    } while (!result.sustained && attempt < options.attempts);
    return result;
  };

  let best: StepResult | null = null;
  let failedRate: number | null = null;
  let rate = options.startRate;
  const first = await step(rate);
  if (first.sustained) {
    best = first;
    while (failedRate === null && rate * 2 <= options.maxRate) {
      rate *= 2;
      const result = await step(rate);
      if (result.sustained) best = result;
      else failedRate = rate;
    }
  } else {
    failedRate = rate;
    while (best === null && Math.floor(rate / 2) >= options.minRate) {
      rate = Math.floor(rate / 2);
      const result = await step(rate);
      if (result.sustained) best = result;
      else failedRate = rate;
    }
  }

  for (let i = 0; i < options.bisections && best !== null && failedRate !== null; i += 1) {
    const middle = Math.round((best.rate + failedRate) / 2);
    if (middle <= best.rate || middle >= failedRate) break;
    const result = await step(middle);
    if (result.sustained) best = result;
    else failedRate = middle;
  }
  return { best, steps, reachedMaxRate: best !== null && failedRate === null };
}

export function describeStep(step: StepResult): string {
  const ms = (n: number) => n.toFixed(1);
  const errors = step.errors > 0 ? `, ${step.errors} errors (${step.firstError})` : '';
  return (
    `${step.rate}/s: p50 ${ms(step.latency.p50)} p99 ${ms(step.latency.p99)} max ${ms(step.latency.max)} ms` +
    ` (send lag p99 ${ms(step.sendLag.p99)} ms)${errors} -> ${step.sustained ? 'sustained' : 'not sustained'}`
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}
