/**
 * Runs `tick` every `intervalMs` until stopped; `wake()` runs it early. One tick at a time: a slow
 * tick delays the next one instead of overlapping it. Errors go to `onError` and the loop goes on.
 */
export interface Loop {
  wake(): void;
  stop(): Promise<void>;
}

export function every(intervalMs: number, tick: () => Promise<unknown>, onError: (error: unknown) => void): Loop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    running = tick()
      .then(() => undefined, onError)
      .finally(() => {
        running = undefined;
        if (stopped) return;
        if (again) {
          again = false;
          setImmediate(run);
        } else {
          timer = setTimeout(run, intervalMs);
        }
      });
  };
  timer = setTimeout(run, 0);

  return {
    wake: run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
