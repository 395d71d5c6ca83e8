import type { Check } from './checks';

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const verdict = (ok: boolean | null) => (ok === null ? 'N/A' : ok ? 'PASS' : 'FAIL');

export interface Figures {
  readonly seed: number;
  readonly command: string;
  readonly lines: readonly (readonly [string, string])[];
}

/** The run's figures, then one line per invariant, then a few examples of each failure. */
export function summary(figures: Figures, checks: readonly Check[]): string {
  const failed = checks.filter((c) => c.ok === false);
  const out = [
    '',
    `chaos soak, seed ${figures.seed}: ${failed.length === 0 ? 'every invariant held' : `${failed.length} invariants FAILED`}`,
    `replay with: ${figures.command}`,
    '',
    table(['figure', 'value'], figures.lines),
    '',
    table(['invariant', 'result', 'detail'], checks.map((c) => [c.name, verdict(c.ok), c.detail])),
  ];
  for (const c of failed) {
    if (!c.examples?.length) continue;
    out.push('', `${c.name}, for example:`, ...c.examples.map((e) => `  ${e.length > 400 ? `${e.slice(0, 400)}...` : e}`));
  }
  return `${out.join('\n')}\n`;
}
