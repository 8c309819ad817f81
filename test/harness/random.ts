/**
 * A small seeded generator (mulberry32) for property tests: the same seed gives the same cases, so a failing case can
 * be run again from the seed its message names.
 */
export interface SeededRandom {
  /** An integer in [0, below). */
  int(below: number): number;
  pick<T>(items: readonly T[]): T;
  /** `length` random bytes; with `alphabet`, letters from `a` on, `alphabet` of them (near misses and overlaps). */
  bytes(length: number, alphabet?: number): Buffer;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  return {
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)] as T,
    bytes: (length, alphabet) => {
      // Filled in place: a JavaScript array of the numbers first cost more than the search it feeds on 200 kB buffers.
      const bytes = Buffer.allocUnsafe(length);
      for (let index = 0; index < length; index++) bytes[index] = alphabet === undefined ? int(256) : 97 + int(alphabet);
      return bytes;
    },
  };
}
