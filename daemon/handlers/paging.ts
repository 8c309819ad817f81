import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes } from '../protocol/errors.js';
import type { PageInfo } from '../protocol/fields.js';

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

/**
 * Cuts one page from rows already in key order and starting after the cursor: at most `limit` rows and at most
 * {@link PAGE_BYTES} of them encoded (never fewer than one). Pass up to `limit + 1` rows, so a full page knows
 * whether more follow; `nextCursor` is set exactly when some did not fit.
 */
export function cutPage<T>(rows: readonly T[], limit: number, keyOf: (row: T) => RowKey): { rows: T[] } & PageInfo {
  const page: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (page.length >= limit) break;
    const size = Buffer.byteLength(JSON.stringify(row), 'utf8') + 1;
    if (page.length > 0 && bytes + size > PAGE_BYTES) break;
    page.push(row);
    bytes += size;
  }
  const last = page.at(-1);
  return page.length < rows.length && last !== undefined ? { rows: page, nextCursor: encodeCursor(keyOf(last)) } : { rows: page };
}

/** One page of rows held in memory: sorts them by key, skips to the cursor and cuts. */
export function pageInMemory<T>(all: readonly T[], params: { limit: number; cursor?: string | undefined }, keyOf: (row: T) => RowKey, shape: readonly ('string' | 'number')[]): { rows: T[] } & PageInfo {
  const after = decodeCursor(params.cursor, shape);
  const sorted = [...all].sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
  const start = after === undefined ? 0 : sorted.findIndex((row) => compareKeys(keyOf(row), after) > 0);
  return cutPage(start === -1 ? [] : sorted.slice(start, start + params.limit + 1), params.limit, keyOf);
}
