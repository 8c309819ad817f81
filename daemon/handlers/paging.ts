import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes } from '../protocol/errors.js';
import type { PageInfo } from '../protocol/fields.js';
import { rememberJson } from '../transport/json.js';

/**
 * Encoded size a page's rows may reach. Half the message limit: a page stays far below what clients accept
 * whatever its rows hold, and the router's size check stays a backstop that never fires for a list.
 */
export const PAGE_BYTES = 512 * 1024;

/** The sort key of a row, compared part by part; it must be unique, so the order is total and stable. */
export type RowKey = readonly (string | number)[];

/** Makes the opaque cursor that resumes after a row with this key. */
export function encodeCursor(key: RowKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Reads a cursor made by {@link encodeCursor}; a cursor of another shape is InvalidParams. */
export function decodeCursor(cursor: string | undefined, shape: readonly ('string' | 'number')[]): RowKey | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== shape.length || key.some((part, index) => typeof part !== shape[index])) {
    throw new ResponseError(ErrorCodes.InvalidParams, 'Invalid params: cursor: not a cursor this list gave out; start again without one.');
  }
  return key as RowKey;
}

/** Compares two keys part by part (strings by code unit, as the store's BINARY collation does for ASCII). */
export function compareKeys(a: RowKey, b: RowKey): number {
  for (let index = 0; index < a.length; index++) {
    const left = a[index] ?? '';
    const right = b[index] ?? '';
    if (left < right) return -1;
    if (left > right) return 1;
  }
  return 0;
}

/** How {@link cutPage} turns stored rows into a page. */
export interface PageCut<R, T> {
  /** Most rows in the page. */
  readonly limit: number;
  /**
   * Makes a row as it is sent, with every field the handler adds (URLs, proxy state…). The page's size is weighed on
   * what this returns, so nothing can be added to a row after the cut and push the page over {@link PAGE_BYTES}.
   */
  readonly toRow: (row: R) => T | Promise<T>;
  /** The sort key of a stored row: what the next page's cursor resumes after. */
  readonly keyOf: (row: R) => RowKey;
  /**
   * Rows that lead this page whatever the cursor (e.g. runs that wait for a person), already as sent: they count
   * against the page's size but not against `limit`, and no cursor points at them.
   */
  readonly lead?: readonly T[];
}

/**
 * Cuts one page from stored rows already in key order and starting after the cursor: at most `limit` rows and at
 * most {@link PAGE_BYTES} of them as sent (never fewer than one). Pass up to `limit + 1` rows, so a full page knows
 * whether more follow; only the first `limit` go through `toRow`. `nextCursor` is set exactly when some did not fit.
 * The page's JSON text is remembered ({@link rememberJson}), so the router's size check and the writer reuse it.
 */
export async function cutPage<R, T>(rows: readonly R[], cut: PageCut<R, T>): Promise<{ rows: T[] } & PageInfo> {
  const lead = cut.lead ?? [];
  const mapped = await Promise.all(rows.slice(0, cut.limit).map((row) => cut.toRow(row)));
  const whole = [...lead, ...mapped];
  // Most pages fit whole: one encoding weighs them (an array's text is each row and a separator, plus one bracket).
  const json = JSON.stringify(whole);
  if (Buffer.byteLength(json, 'utf8') - 1 <= PAGE_BYTES || mapped.length <= 1) {
    rememberJson(whole, json);
    // Frozen: a handler that changed the page after the cut would fail loudly rather than send the text of before.
    const page = Object.freeze(whole) as T[];
    return mapped.length < rows.length && mapped.length > 0 ? { rows: page, nextCursor: encodeCursor(cut.keyOf(rows[mapped.length - 1] as R)) } : { rows: page };
  }
  // Over the size: weighed row by row, and the page's text is made of the rows' texts.
  const texts = lead.map((row) => JSON.stringify(row));
  let bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8') + 1, 0);
  let taken = 0;
  for (const row of mapped) {
    const text = JSON.stringify(row);
    const size = Buffer.byteLength(text, 'utf8') + 1;
    if (taken > 0 && bytes + size > PAGE_BYTES) break;
    texts.push(text);
    bytes += size;
    taken += 1;
  }
  const page = [...lead, ...mapped.slice(0, taken)];
  rememberJson(page, `[${texts.join(',')}]`);
  const last = taken > 0 ? rows[taken - 1] : undefined;
  return taken < rows.length && last !== undefined
    ? { rows: Object.freeze(page) as T[], nextCursor: encodeCursor(cut.keyOf(last)) }
    : { rows: Object.freeze(page) as T[] };
}

/** One page of rows held in memory: sorts them by key, skips to the cursor and cuts. */
export function pageInMemory<R, T>(
  all: readonly R[],
  params: { limit: number; cursor?: string | undefined },
  cut: Omit<PageCut<R, T>, 'limit'>,
  shape: readonly ('string' | 'number')[],
): Promise<{ rows: T[] } & PageInfo> {
  const after = decodeCursor(params.cursor, shape);
  const sorted = [...all].sort((a, b) => compareKeys(cut.keyOf(a), cut.keyOf(b)));
  const start = after === undefined ? 0 : sorted.findIndex((row) => compareKeys(cut.keyOf(row), after) > 0);
  return cutPage(start === -1 ? [] : sorted.slice(start, start + params.limit + 1), { ...cut, limit: params.limit });
}

/** The identity: a `toRow` for lists whose stored rows are sent as they are. */
export function asStored<T>(row: T): T {
  return row;
}
