import { mulberry32 } from '../../infra/stripe-sandbox/faults';

/** A seeded stream of choices; the same seed gives the same choices, in the same order. */
export interface Random {
  next(): number;
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight: `[[value, weight], ...]`. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T;
}

export function seededRandom(seed: number): Random {
  const next = mulberry32(seed);
  const random: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    weighted<T>(choices: readonly (readonly [T, number])[]): T {
      const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
      let u = next() * total;
      for (const [value, weight] of choices) {
        if (u < weight) return value;
        u -= weight;
      }
      return choices[choices.length - 1]![0];
    },
  };
  return random;
}

/** Independent streams from one seed, so that a change in one part's draws does not shift another's. */
export const streamSeed = (seed: number, part: 'flows' | 'driver' | 'killer' | 'faults'): number =>
  (seed ^ { flows: 0x1f2e3d4c, driver: 0x5a5a5a5a, killer: 0x0badf00d, faults: 0 }[part]) >>> 0;
