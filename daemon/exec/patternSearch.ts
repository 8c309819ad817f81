/* eslint-disable @typescript-eslint/no-non-null-assertion -- index arithmetic on buffers and parallel lists whose bounds the loops keep; noUncheckedIndexedAccess cannot follow it */
/**
 * Where patterns occur in a buffer, as three parallel lists (no object per match): the i-th match is pattern
 * `patterns[i]` at `starts[i]` (it ends at `starts[i]` + that pattern's length). Ordered by start; several patterns
 * may match at one start.
 */
export interface PatternMatches {
  readonly starts: number[];
  readonly patterns: number[];
}

/** Patterns at least this long go through the skipping scan; shorter ones are searched for one by one. */
const LONG_PATTERN = 8;
/** The scan never looks further than this many bytes of a pattern (its shifts fit in a byte). */
const MAX_WINDOW = 255;
/** Cursors of the skipping scan that run side by side, each over its part of the buffer. */
const LANES = 4;
/** A buffer with fewer windows per lane than this is scanned by one cursor. */
const MIN_LANE_BYTES = 1024;

/**
 * Finds many literal byte patterns in a buffer at once, fast enough for a command's whole output, without turning
 * the bytes into a string. A Wu–Manber scan over the patterns of eight bytes or more: a table indexed by the last two
 * bytes of a window as long as the shortest of them says how far the window may jump (for 20 base64 patterns of 24
 * bytes, about 22 bytes a step: most bytes are never looked at), and only a window whose last pair ends some
 * pattern's window is compared byte by byte. Pairs measured faster than hashed longer grams: the table stays small
 * and warm. The few shorter patterns (short values, which the vault refuses anyway) are searched for natively, one
 * by one, so they do not slow the scan for all the others.
 */
export class PatternSearch {
  /** The length of the longest pattern. */
  readonly longest: number;
  private readonly patterns: readonly Uint8Array[];
  private readonly short: readonly number[];
  private readonly window: number;
  private readonly shifts: Uint8Array;
  /** For each pair of bytes that ends a window, the long patterns whose window ends with it. */
  private readonly buckets = new Map<number, number[]>();
  /** Where each lane of the scan starts (and, last, where they all stop); reused by every scan. */
  private readonly bounds = new Int32Array(LANES + 1);
  /** Where each lane stops; reused by every scan. */
  private readonly ends = new Int32Array(LANES);
  /** The windows each lane found to compare (their last byte); reused by every scan. */
  private readonly candidates: number[][] = Array.from({ length: LANES }, (): number[] => []);

  constructor(patterns: readonly Uint8Array[]) {
    if (patterns.length === 0 || patterns.some((pattern) => pattern.length === 0)) throw new Error('PatternSearch needs non-empty patterns');
    this.patterns = patterns;
    this.longest = Math.max(...patterns.map((pattern) => pattern.length));
    const long = patterns.flatMap((pattern, index) => (pattern.length >= LONG_PATTERN ? [index] : []));
    this.short = patterns.flatMap((pattern, index) => (pattern.length < LONG_PATTERN ? [index] : []));
    this.window = long.length === 0 ? 0 : Math.min(MAX_WINDOW, ...long.map((index) => patterns[index]!.length));
    this.shifts = new Uint8Array(long.length === 0 ? 0 : 1 << 16).fill(this.window - 1);
    for (const index of long) {
      const pattern = patterns[index]!;
      for (let end = 1; end < this.window; end++) {
        const pair = pairAt(pattern, end);
        this.shifts[pair] = Math.min(this.shifts[pair]!, this.window - 1 - end);
      }
      const last = pairAt(pattern, this.window - 1);
      const bucket = this.buckets.get(last) ?? [];
      bucket.push(index);
      this.buckets.set(last, bucket);
    }
    if (long.length > 0) this.prime(patterns[long[0]!]!);
  }

  /**
   * Runs the scan once over a made-up buffer with a match in each lane. The optimizing compiler takes the scan on
   * after the first few chunks; a path that had not run by then (a match is rare: in the first megabytes there may be
   * none) is compiled as a way back to the interpreter, and the first match there throws the compiled code away
   * (measured: the scan then ran unoptimized, at a tenth of its speed, for a dozen more chunks).
   */
  private prime(pattern: Uint8Array): void {
    const lane = MIN_LANE_BYTES + pattern.length;
    const sample = new Uint8Array(LANES * lane);
    for (let start = 0; start < sample.length; start += lane) sample.set(pattern, start);
    this.find(sample, sample.length);
  }

  /** Every occurrence of every pattern that starts before `limit` and ends inside `buffer` (overlaps included). */
  find(buffer: Uint8Array, limit: number): PatternMatches {
    const found: PatternMatches = { starts: [], patterns: [] };
    if (this.window > 0) this.scanLong(buffer, Math.min(limit, buffer.length), found);
    if (this.short.length === 0) return found;
    const fromLong = found.starts.length;
    const view = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.length);
    for (const index of this.short) {
      const pattern = this.patterns[index]!;
      for (let start = view.indexOf(pattern); start !== -1 && start < limit; start = view.indexOf(pattern, start + 1)) {
        found.starts.push(start);
        found.patterns.push(index);
      }
    }
    // Each pattern's matches come in order; lists from more than one pattern have to be interleaved.
    const fromShort = found.starts.length - fromLong;
    return fromShort === 0 || (fromLong === 0 && this.short.length === 1) ? found : sorted(found);
  }

  /**
   * The skipping scan. Each step's shift depends on the bytes the one before led to, so one cursor waits on its own
   * loads; four cursors, each over a quarter of the buffer, in one loop, keep the processor busy in between (measured
   * about three times the bytes a second of one cursor). The loops only note the windows to compare (their shift is 0),
   * which {@link compareCandidates} does after them: kept apart, this stays small enough for the optimizing compiler
   * to take a few milliseconds over it rather than ~90, which in a command's short life is the difference that counts.
   */
  private scanLong(buffer: Uint8Array, limit: number, found: PatternMatches): void {
    const { shifts, window, candidates } = this;
    // `end` is the window's last byte; the window starts at end - window + 1, which must stay before `limit`.
    const first = window - 1;
    const stop = Math.max(first, Math.min(buffer.length, limit + window - 1));
    // Lane k checks the windows that end from bounds[k] to bounds[k + 1]; a shift that leaves its lane skips only
    // windows the next lane checks. A short buffer is one lane.
    const quarter = stop - first < LANES * MIN_LANE_BYTES ? 0 : Math.floor((stop - first) / LANES);
    const bounds = this.bounds;
    for (let lane = 0; lane < LANES; lane++) bounds[lane] = quarter === 0 ? (lane === 0 ? first : stop) : first + lane * quarter;
    bounds[LANES] = stop;
    // Indexed, not destructured: destructuring goes through the iterator protocol, which the compiler has to inline.
    const inA = candidates[0]!;
    const inB = candidates[1]!;
    const inC = candidates[2]!;
    const inD = candidates[3]!;
    inA.length = inB.length = inC.length = inD.length = 0;
    let a = bounds[0]!;
    let b = bounds[1]!;
    let c = bounds[2]!;
    let d = bounds[3]!;
    const endA = b;
    const endB = c;
    const endC = d;
    while (a < endA && b < endB && c < endC && d < stop) {
      const shiftA = shifts[(buffer[a - 1]! << 8) | buffer[a]!]!;
      const shiftB = shifts[(buffer[b - 1]! << 8) | buffer[b]!]!;
      const shiftC = shifts[(buffer[c - 1]! << 8) | buffer[c]!]!;
      const shiftD = shifts[(buffer[d - 1]! << 8) | buffer[d]!]!;
      if (shiftA === 0) inA.push(a++);
      else a += shiftA;
      if (shiftB === 0) inB.push(b++);
      else b += shiftB;
      if (shiftC === 0) inC.push(c++);
      else c += shiftC;
      if (shiftD === 0) inD.push(d++);
      else d += shiftD;
    }
    // Each lane to its end, one at a time.
    bounds[0] = a;
    bounds[1] = b;
    bounds[2] = c;
    bounds[3] = d;
    const ends = this.ends;
    ends[0] = endA;
    ends[1] = endB;
    ends[2] = endC;
    ends[3] = stop;
    for (let lane = 0; lane < LANES; lane++) {
      const list = candidates[lane]!;
      for (let end = bounds[lane]!, to = ends[lane]!; end < to; ) {
        const shift = shifts[(buffer[end - 1]! << 8) | buffer[end]!]!;
        if (shift > 0) end += shift;
        else list.push(end++);
      }
    }
    this.compareCandidates(buffer, found);
  }

  /**
   * Compares the windows the lanes noted with the patterns whose window ends like them; lanes in order, each in order,
   * so the matches come out ordered by start. (A function of its own: matches are rare, and code the scan has not run
   * yet when it is compiled would send it back to the interpreter the first time one turns up.)
   */
  private compareCandidates(buffer: Uint8Array, found: PatternMatches): void {
    const { buckets, patterns, candidates, window } = this;
    for (let lane = 0; lane < LANES; lane++) {
      const list = candidates[lane]!;
      for (let index = 0; index < list.length; index++) {
        const end = list[index]!;
        const bucket = buckets.get((buffer[end - 1]! << 8) | buffer[end]!);
        if (bucket === undefined) continue;
        const start = end - window + 1;
        for (let which = 0; which < bucket.length; which++) {
          const pattern = patterns[bucket[which]!]!;
          if (start + pattern.length <= buffer.length && matchesAt(buffer, start, pattern)) {
            found.starts.push(start);
            found.patterns.push(bucket[which]!);
          }
        }
      }
    }
  }
}

/** The two bytes that end at `end`, as an index into the shift table. */
function pairAt(bytes: Uint8Array, end: number): number {
  return (bytes[end - 1]! << 8) | bytes[end]!;
}

function matchesAt(buffer: Uint8Array, start: number, pattern: Uint8Array): boolean {
  for (let index = 0; index < pattern.length; index++) {
    if (buffer[start + index] !== pattern[index]) return false;
  }
  return true;
}

/** The matches ordered by start (the long and the short patterns' matches, each in order, interleaved). */
function sorted(found: PatternMatches): PatternMatches {
  const order = found.starts.map((_, index) => index).sort((a, b) => found.starts[a]! - found.starts[b]!);
  return { starts: order.map((index) => found.starts[index]!), patterns: order.map((index) => found.patterns[index]!) };
}
