/**
 * Sample statistics for the benchmarks. Percentiles use the nearest-rank method on sorted samples, so p50 and p99
 * are always values that were actually measured (no interpolation between two runs).
 */

/** p50/p99 and friends of one series of timings, in milliseconds. */
export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/** The nearest-rank `p`-th percentile (0 < p ≤ 100) of samples sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  const value = sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
  if (value === undefined) throw new Error('percentile: rank out of range');
  return value;
}

/** Summarises a series of timings (any order). */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((left, right) => left - right);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined) throw new Error('summarize: no samples');
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: first,
    max: last,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

/** Median of a few samples (cold starts, folds): the nearest-rank p50. */
export function median(samples: readonly number[]): number {
  return summarize(samples).p50;
}

/** Milliseconds elapsed since a `process.hrtime.bigint()` reading. */
export function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Times one synchronous call, in milliseconds. */
export function timeSync(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return elapsedMs(started);
}

/** Times one asynchronous call, in milliseconds. */
export async function timeAsync(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return elapsedMs(started);
}

/**
 * Runs several contenders in turn: `warmup` untimed calls of each, then `count` timed calls of each, taking turns in
 * blocks of `block` so that all of them see the same background load (the machine is shared and noisy, and its
 * load drifts over seconds). Returns the samples of each contender, in the order given.
 */
export async function interleaved(
  contenders: readonly (() => Promise<number> | number)[],
  options: { readonly count: number; readonly warmup: number; readonly block?: number },
): Promise<number[][]> {
  for (let index = 0; index < options.warmup; index++) {
    for (const contender of contenders) await contender();
  }
  const block = options.block ?? 50;
  const samples = contenders.map((): number[] => []);
  for (let done = 0; done < options.count; done += block) {
    const size = Math.min(block, options.count - done);
    for (const [position, contender] of contenders.entries()) {
      for (let index = 0; index < size; index++) samples[position]?.push(await contender());
    }
  }
  return samples;
}
