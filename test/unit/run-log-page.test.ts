import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { RunFolder } from '../../daemon/deploy/runFolder.js';
import { readLogPage } from '../../daemon/deploy/runLog.js';
import { PAGE_BYTES } from '../../daemon/handlers/paging.js';
import { RUN_LOG_PAGE } from '../../daemon/protocol/runs.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-run-log-page-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Reads the whole log the way the CLI and the extension do: page after page until nothing more is there. */
function readAll(folder: RunFolder, limit: number): { lines: string[]; pages: number; largestPageBytes: number } {
  const lines: string[] = [];
  let from = 0;
  let pages = 0;
  let largestPageBytes = 0;
  for (let more = true; more; ) {
    const page = readLogPage(folder, from, limit, PAGE_BYTES);
    assert.ok(page.lines.length > 0 || !page.more, 'a page with more after it moves on');
    assert.ok(page.lines.length <= limit);
    largestPageBytes = Math.max(largestPageBytes, Buffer.byteLength(JSON.stringify(page)));
    lines.push(...page.lines);
    pages++;
    from = page.next;
    more = page.more;
  }
  return { lines, pages, largestPageBytes };
}

test('a run log of 100k lines comes in pages that each stay far below the message limit, and all of it arrives in order', () => {
  const folder = RunFolder.create(root, 'run_long');
  const written = Array.from({ length: 100_000 }, (_, index) => `TASK [line ${index}] ok: [web-1] => changed=false`);
  for (let start = 0; start < written.length; start += 10_000) folder.appendLog(written.slice(start, start + 10_000));

  const read = readAll(folder, RUN_LOG_PAGE.default);
  assert.equal(read.lines.length, written.length);
  assert.deepEqual(read.lines, written);
  assert.equal(read.pages, Math.ceil(written.length / RUN_LOG_PAGE.default));
  assert.ok(read.largestPageBytes < 1024 * 1024, `largest page ${read.largestPageBytes} bytes`);

  const last = readLogPage(folder, 99_990, RUN_LOG_PAGE.default, PAGE_BYTES);
  assert.deepEqual(last, { lines: written.slice(99_990), next: 100_000, total: 100_000, more: false });
});

test('long lines cut a page by size before its line count; a line longer than a page still arrives alone', () => {
  const folder = RunFolder.create(root, 'run_wide');
  const wide = 'x'.repeat(64 * 1024);
  const huge = 'y'.repeat(PAGE_BYTES * 2);
  folder.appendLog([...Array.from({ length: 20 }, () => wide), huge, 'tail']);

  const first = readLogPage(folder, 0, RUN_LOG_PAGE.max, PAGE_BYTES);
  assert.ok(first.more);
  assert.ok(first.lines.length < 20 && first.lines.length > 0);
  assert.ok(Buffer.byteLength(JSON.stringify(first.lines)) <= PAGE_BYTES);

  const read = readAll(folder, RUN_LOG_PAGE.max);
  assert.equal(read.lines.length, 22);
  assert.equal(read.lines[20], huge);
  assert.equal(read.lines[21], 'tail');
});

test('asking past the end, or for a run with no log yet, answers nothing more and where to follow from', () => {
  const folder = RunFolder.create(root, 'run_short');
  assert.deepEqual(readLogPage(folder, 0, 10, PAGE_BYTES), { lines: [], next: 0, total: 0, more: false });
  folder.appendLog(['one', 'two']);
  assert.deepEqual(readLogPage(folder, 5, 10, PAGE_BYTES), { lines: [], next: 5, total: 2, more: false });
  assert.deepEqual(readLogPage(folder, 1, 10, PAGE_BYTES), { lines: ['two'], next: 2, total: 2, more: false });
});
