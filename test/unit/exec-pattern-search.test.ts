/**
 * The exec masker's multi-pattern search against the plainest search there is (`indexOf` per pattern), on buffers
 * large enough for its side-by-side cursors and small enough for one, with patterns planted at the edges of their
 * parts, overlapping, and cut off by the buffer's end. Everything comes from a seed, so a failure can be run again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PatternSearch } from '../../daemon/exec/patternSearch.js';
import { seededRandom } from '../harness/random.js';

/** Every (start, pattern) with start before `limit` and the whole pattern inside the buffer, ordered by start then pattern. */
function reference(buffer: Buffer, patterns: readonly Buffer[], limit: number): string[] {
  const found: [number, number][] = [];
  for (const [index, pattern] of patterns.entries()) {
    for (let start = buffer.indexOf(pattern); start !== -1 && start < limit; start = buffer.indexOf(pattern, start + 1)) found.push([start, index]);
  }
  return found.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([start, index]) => `${start}:${index}`);
}

test('finds exactly what indexOf finds, whatever the buffer size, limit and patterns', () => {
  for (let seed = 1; seed <= 120; seed++) {
    const random = seededRandom(seed);
    const alphabet = 2 + random.int(30);
    const patterns = Array.from({ length: 1 + random.int(12) }, () => random.bytes(1 + random.int(random.int(2) === 0 ? 12 : 80), alphabet));
    const size = [random.int(64), random.int(5000), 4096 * 4 + random.int(200_000)][random.int(3)]!;
    const buffer = random.bytes(size, alphabet);
    // Plant patterns anywhere, around the quarters the cursors split the buffer into, and at its very end.
    for (let planted = 0; planted < 40 && size > 0; planted++) {
      const pattern = patterns[random.int(patterns.length)]!;
      const around = [random.int(size), Math.floor((size * (1 + random.int(3))) / 4) - random.int(90), size - random.int(pattern.length + 1)][random.int(3)]!;
      pattern.copy(buffer, Math.max(0, Math.min(size - 1, around)));
    }
    const limit = random.int(3) === 0 ? random.int(size + 1) : size;
    const search = new PatternSearch(patterns);
    const { starts, patterns: which } = search.find(buffer, limit);
    const got = starts.map((start, index) => `${start}:${which[index]!}`);
    // Ordered by start; at one start the order among patterns is the search's own.
    assert.deepEqual([...got].sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]) || Number(a.split(':')[1]) - Number(b.split(':')[1])), reference(buffer, patterns, limit), `seed ${seed}`);
    for (let index = 1; index < starts.length; index++) assert.ok(starts[index - 1]! <= starts[index]!, `seed ${seed}: out of order`);
  }
});

test('output made of one pattern over and over: a match at every position is found, at the edges of the cursors too', () => {
  // The largest sizes were 99_999 and 100_000 (a match at every byte: 200k matches to list, format and sort, ~2 s of
  // the tier). 9_999 and 10_000 leave the same remainders by 2, 3 and 8 for the units and the pattern lengths to be
  // cut off at the end, and are still nearly 40 times the longest window the scan takes (MAX_WINDOW, 255 bytes).
  for (const size of [0, 7, 8, 100, 4095, 4096 * 4 + 13, 4096 * 4 + 14, 4096 * 4 + 15, 4096 * 4 + 16, 9_999, 10_000]) {
    for (const [unit, patterns] of [
      ['a', ['aaaaaaaa', 'aaaaaaaaaaaaa']],
      ['ab', ['abababababab', 'babababababa', 'ab']],
      ['xyz', ['xyzxyzxyz', 'zxyzxyzxyzxyzxyzxyzx']],
    ] as const) {
      const buffer = Buffer.from(unit.repeat(Math.ceil(size / unit.length)).slice(0, size));
      const search = new PatternSearch(patterns.map((pattern) => Buffer.from(pattern)));
      for (const limit of [size, Math.floor(size / 2) + 1]) {
        const { starts, patterns: which } = search.find(buffer, limit);
        const got = starts.map((start, index) => `${start}:${which[index]!}`).sort();
        assert.deepEqual(got, reference(buffer, patterns.map((pattern) => Buffer.from(pattern)), limit).sort(), `${unit} × ${size}, limit ${limit}`);
      }
    }
  }
});
