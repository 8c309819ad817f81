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
    this.prime();
  }

  /**
   * Runs the scan once over the patterns themselves, so V8 has seen every path of it (a window that matches, a
   * bucket looked up) before a command's output comes. Real output matches rarely: without this, V8 compiles the
   * scan for the no-match path alone, throws the compiled code away at the first secret in the output, and runs the
   * scan unoptimised until it has compiled it again, two or three times over (measured on 100 MB masked: the relay
   * took 15–20% longer). A few hundred bytes, microseconds.
   */
  private prime(): void {
    const all = Buffer.concat(this.patterns);
    this.find(all, all.length);
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

  private scanLong(buffer: Uint8Array, limit: number, found: PatternMatches): void {
    const { shifts, window, patterns } = this;
    const length = buffer.length;
    // `end` is the window's last byte; the window starts at end - window + 1, which must stay before `limit`.
    const stop = Math.min(length, limit + window - 1);
    for (let end = window - 1; end < stop; ) {
      const pair = (buffer[end - 1]! << 8) | buffer[end]!;
      const shift = shifts[pair]!;
      if (shift > 0) {
        end += shift;
        continue;
      }
      const start = end - window + 1;
      for (const index of this.buckets.get(pair) ?? []) {
        const pattern = patterns[index]!;
        if (start + pattern.length <= length && matchesAt(buffer, start, pattern)) {
          found.starts.push(start);
          found.patterns.push(index);
        }
      }
      end += 1;
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
