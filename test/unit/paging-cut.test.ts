/**
 * `cutPage`, the one place a list page is cut: rows are weighed as they are sent (after the handler's mapper), so
 * nothing a handler adds can push a page over its size; leading rows count in the size; the cursor names the last
 * stored row sent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cutPage, decodeCursor, PAGE_BYTES } from '../../daemon/handlers/paging.js';

interface Stored {
  readonly id: string;
}

const stored = (count: number): Stored[] => Array.from({ length: count }, (_, index) => ({ id: `r${String(index).padStart(4, '0')}` }));
const keyOf = (row: Stored): readonly string[] => [row.id];
const cursorOf = (cursor: string | undefined): string | undefined => decodeCursor(cursor, ['string'])?.[0] as string | undefined;

describe('cutPage', () => {
  test('the size is weighed on the rows as sent: a mapper that adds much gives fewer rows, and a cursor to go on', async () => {
    const filler = 'x'.repeat(100 * 1024);
    const page = await cutPage(stored(50), { limit: 49, toRow: async (row) => ({ ...row, filler }), keyOf });
    assert.equal(page.rows.length, 5, `${page.rows.length} rows of 100 KiB in a page of ${PAGE_BYTES} bytes`);
    assert.ok(Buffer.byteLength(JSON.stringify(page.rows)) <= PAGE_BYTES);
    assert.equal(cursorOf(page.nextCursor), page.rows.at(-1)?.id);
  });

  test('only the rows the page can hold are mapped; the one past the limit only says more follow', async () => {
    const mapped: string[] = [];
    const page = await cutPage(stored(4), { limit: 3, toRow: (row) => (mapped.push(row.id), row), keyOf });
    assert.deepEqual(mapped, ['r0000', 'r0001', 'r0002']);
    assert.deepEqual(page.rows.map((row) => row.id), ['r0000', 'r0001', 'r0002']);
    assert.equal(cursorOf(page.nextCursor), 'r0002');
    const last = await cutPage(stored(3), { limit: 3, toRow: (row) => row, keyOf });
    assert.equal(last.nextCursor, undefined, 'no more rows: no cursor');
  });

  test('leading rows come first and count in the size, not in the limit; the cursor never points at them', async () => {
    const lead = [{ id: 'apr_waiting', filler: 'w'.repeat(PAGE_BYTES - 1024) }];
    const page = await cutPage(stored(10), { limit: 5, toRow: (row) => ({ ...row, filler: 'y'.repeat(600) }), keyOf, lead });
    assert.equal(page.rows[0]?.id, 'apr_waiting');
    assert.deepEqual(page.rows.slice(1).map((row) => row.id), ['r0000'], 'one row fits next to the leading one (never fewer than one)');
    assert.equal(cursorOf(page.nextCursor), 'r0000');
    const roomy = await cutPage(stored(10), { limit: 5, toRow: (row) => row, keyOf, lead: [{ id: 'apr_small' }] });
    assert.equal(roomy.rows.length, 6, 'the leading row is not counted in the limit');
  });

  test('a single row over the size still makes a page of one, so paging always moves on', async () => {
    const page = await cutPage(stored(2), { limit: 10, toRow: (row) => ({ ...row, filler: 'z'.repeat(PAGE_BYTES + 10) }), keyOf });
    assert.equal(page.rows.length, 1);
    assert.equal(cursorOf(page.nextCursor), 'r0000');
  });
});
