import { Presets, SingleBar } from 'cli-progress';
import type { RebuildProgress } from './rebuild';

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressReporter {
  update(progress: RebuildProgress): void;
  finish(): void;
}

const formatEta = (seconds: number | null): string => (seconds === null ? '?' : `${Math.ceil(seconds)}s`);

/** A progress bar on a terminal; elsewhere (logs, CI) a plain line at most every `everyMs`. */
export function progressReporter(output: ProgressOutput, everyMs = 1000): ProgressReporter {
  if (output.isTTY) {
    let bar: SingleBar | null = null;
    return {
      update(p) {
        if (!bar) {
          bar = new SingleBar(
            {
              format: `${p.projection} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_text}`,
              stream: output as NodeJS.WritableStream,
              hideCursor: true,
            },
            Presets.shades_classic,
          );
          bar.start(Math.max(p.total, p.done), 0, { rate: '0', eta_text: '?' });
        }
        if (p.done > bar.getTotal()) bar.setTotal(p.done);
        bar.update(p.done, { rate: Math.round(p.eventsPerSecond).toString(), eta_text: formatEta(p.etaSeconds) });
      },
      finish() {
        bar?.stop();
      },
    };
  }
  let last = 0;
  let latest: RebuildProgress | null = null;
  const line = (p: RebuildProgress) =>
    `${p.projection}: ${p.done}/${p.total} events, ${Math.round(p.eventsPerSecond)} events/s, ETA ${formatEta(p.etaSeconds)}\n`;
  return {
    update(p) {
      latest = p;
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        output.write(line(p));
      }
    },
    finish() {
      if (latest) output.write(line(latest));
    },
  };
}
