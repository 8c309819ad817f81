import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';
import { CUT_MARK, MAX_LOG_LINE_CHARS, RedactedLines } from '../../daemon/operations/redactedLines.js';

const CANARY = 'canary-7f3k9x2mab-Zq81';

function redactor(): Redactor {
  const masks = new Redactor();
  masks.register(CANARY);
  return masks;
}

/** Feeds `chunks` (as an SSH channel would deliver them) and returns the lines released. */
function feed(chunks: readonly (Buffer | string)[], end = true): string[] {
  const lines: string[] = [];
  const stream = new RedactedLines(redactor(), (line) => lines.push(line));
  for (const chunk of chunks) stream.write(chunk);
  if (end) stream.end();
  return lines;
}

test('a value split across chunks at every position is masked, and nothing of it is released early', () => {
  const line = `backend\u001f2026-12-06T18:00:00.1Z token=${CANARY} ok\n`;
  for (let cut = 1; cut < line.length; cut++) {
    const released: string[] = [];
    const stream = new RedactedLines(redactor(), (text) => released.push(text));
    stream.write(Buffer.from(line.slice(0, cut)));
    assert.deepEqual(released, [], `nothing before the line is complete (cut at ${cut})`);
    stream.write(Buffer.from(line.slice(cut)));
    assert.deepEqual(released, [`backend\u001f2026-12-06T18:00:00.1Z token=${REDACTED} ok`], `cut at ${cut}`);
  }
});

test('a value split byte by byte, and a multi-byte character split across chunks, come out whole', () => {
  const text = `é ${CANARY} ü\nnext line\n`;
  const bytes = Buffer.from(text);
  const chunks = [...bytes].map((byte) => Buffer.from([byte]));
  assert.deepEqual(feed(chunks), [`é ${REDACTED} ü`, 'next line']);
});

test('CRLF lines lose the CR; an unfinished last line is released at the end only', () => {
  assert.deepEqual(feed(['one\r\ntwo', ` ${CANARY}`]), ['one', `two ${REDACTED}`]);
  assert.deepEqual(feed(['one\ntwo'], false), ['one']);
});

test('an over-long line is cut, and a value straddling the cut leaves none of its characters', () => {
  // The canary starts a few characters before the line limit, so the kept part would end with its first half.
  const filler = 'x'.repeat(MAX_LOG_LINE_CHARS - 10);
  const lines = feed([filler, CANARY, 'y'.repeat(5000), '\nafter\n']);
  assert.equal(lines.length, 2);
  assert.ok(lines[0]?.endsWith(CUT_MARK));
  assert.ok(!lines[0]?.includes(CANARY.slice(0, 6)), 'no start of the value');
  assert.ok(!lines[0]?.includes('y'), 'the rest of the long line is dropped');
  assert.equal(lines[1], 'after');
});
