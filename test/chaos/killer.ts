import type { Cluster } from './cluster';
import type { Random } from './random';

export interface Kill {
  readonly victim: string;
  /** Milliseconds since chaos began. */
  readonly atMs: number;
  /** From SIGKILL until the new process said it started. */
  readonly downMs: number;
}

export interface Killer {
  readonly kills: Kill[];
  /** Lets the kill in progress finish (its victim restarted), then stops. */
  stop(): Promise<void>;
}

/**
 * Every `everyMs` on average (each gap drawn from [0.5, 1.5] of it), SIGKILLs one ledger process
 * drawn from the seed, keeps it down for a drawn 100..1500 ms, and starts it again. One process is
 * down at a time. The draws happen in a fixed order, so the same seed gives the same victims, gaps
 * and downtimes; only when each kill lands relative to the traffic depends on the machine.
 */
export function startKiller(cluster: Cluster, random: Random, everyMs: number, log: (line: string) => void): Killer {
  const kills: Kill[] = [];
  const started = Date.now();
  let stopped = false;
  let wake = (): void => undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = async () => {
    while (!stopped) {
      const gap = Math.round(everyMs * (0.5 + random.next()));
      const victim = random.pick(cluster.victims);
      const downtime = random.int(100, 1500);
      await pause(gap);
      if (stopped) return;
      const at = Date.now();
      await cluster.kill(victim.name);
      await new Promise((resolve) => setTimeout(resolve, downtime));
      await cluster.restart(victim.name);
      kills.push({ victim: victim.name, atMs: at - started, downMs: Date.now() - at });
      if (kills.length % 10 === 0) log(`killer: ${kills.length} kills so far`);
    }
  };
  let failure: unknown = null;
  const running = loop().catch((error: unknown) => {
    failure = error;
  });
  return {
    kills,
    async stop() {
      stopped = true;
      wake();
      await running;
      if (failure) throw failure;
    },
  };
}
