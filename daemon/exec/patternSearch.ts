/** Where one pattern occurs in a buffer: the longest pattern starting at `start`. */
export interface PatternMatch {
  start: number;
  end: number;
  pattern: string;
}

/**
 * Finds many literal byte patterns in a buffer at once, fast enough for a command's whole output: a Wu–Manber
 * scan (a table of byte pairs says how far the window may jump; most of the bytes are never looked at) proposes
 * candidate positions, and one sticky regular expression of all patterns, longest first, confirms them. A plain
 * alternation of dozens of base64-looking patterns runs at a fraction of the speed, as the regular-expression
 * engine can no longer skip ahead.
 */
export class PatternSearch {
  /** Pattern texts are latin1 strings, one character per byte. */
  readonly longest: number;
  private readonly shortest: number;
  private readonly verify: RegExp;
  private readonly shifts: Uint8Array | undefined;

  constructor(patterns: readonly string[]) {
    const sorted = [...new Set(patterns)].filter((pattern) => pattern.length > 0).sort((a, b) => b.length - a.length);
    if (sorted.length === 0) throw new Error('PatternSearch needs at least one pattern');
    this.longest = sorted[0]!.length;
    // The window: only this many first bytes of each pattern steer the scan (longer windows only help a little).
    this.shortest = Math.min(sorted[sorted.length - 1]!.length, 255);
    this.verify = new RegExp(sorted.map(escapeLatin1).join('|'), 'y');
    this.shifts = this.shortest >= 2 ? shiftTable(sorted, this.shortest) : undefined;
  }

  /**
   * Every position before `limit` where a pattern starts, in order, with the longest pattern there (overlapping
   * matches included: a match may start inside the one before).
   */
  find(buffer: Buffer, limit: number): PatternMatch[] {
    const matches: PatternMatch[] = [];
    let text: string | undefined;
    const check = (start: number): void => {
      text ??= buffer.toString('latin1');
      this.verify.lastIndex = start;
      const found = this.verify.exec(text);
      if (found !== null) matches.push({ start, end: start + found[0].length, pattern: found[0] });
    };
    const shifts = this.shifts;
    const window = this.shortest;
    const length = buffer.length;
    const lastStart = Math.min(limit, length - window + 1);
    if (shifts === undefined) {
      for (let start = 0; start < lastStart; start++) check(start);
      return matches;
    }
    // `end` is the window's last byte; the window starts at end - window + 1.
    for (let end = window - 1; end - window + 1 < lastStart; ) {
      const shift = shifts[(buffer[end - 1]! << 8) | buffer[end]!]!;
      if (shift > 0) {
        end += shift;
        continue;
      }
      check(end - window + 1);
      end += 1;
    }
    return matches;
  }
}

/** For each byte pair, how far the window may move when its last two bytes are that pair (0: a pattern may end here). */
function shiftTable(patterns: readonly string[], window: number): Uint8Array {
  const shifts = new Uint8Array(65536).fill(window - 1);
  for (const pattern of patterns) {
    for (let index = 1; index < window; index++) {
      const pair = (pattern.charCodeAt(index - 1) << 8) | pattern.charCodeAt(index);
      const shift = window - 1 - index;
      if (shift < shifts[pair]!) shifts[pair] = shift;
    }
  }
  return shifts;
}

/** A regular-expression source matching exactly this latin1 text. */
function escapeLatin1(text: string): string {
  let source = '';
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const isPlain = (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
    source += isPlain ? text[index]! : `\\x${code.toString(16).padStart(2, '0')}`;
  }
  return source;
}
