import pg from 'pg';
import type { SqlValue } from '../journal.js';
import { ROWID_COLUMN } from './translate.js';

/** PostgreSQL type ids of the values the translated schema produces. */
const TypeIds = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  float4: 700,
  float8: 701,
  numeric: 1700,
} as const;

/** A text value from PostgreSQL → the value the embedded store would have answered. */
function parserFor(typeId: number): (text: string) => SqlValue {
  switch (typeId) {
    case TypeIds.int8:
    case TypeIds.int2:
    case TypeIds.int4:
    case TypeIds.float4:
    case TypeIds.float8:
    case TypeIds.numeric:
      // BIGINT columns hold millisecond timestamps and counters (SUM and COUNT answer int8 or numeric): numbers, as
      // SQLite gives them. Beyond 2^53 they lose precision there too.
      return Number;
    case TypeIds.bool:
      // A comparison read as a column: SQLite answers 1 or 0.
      return (text) => (text === 't' ? 1 : 0);
    case TypeIds.bytea: {
      const parse = pg.types.getTypeParser(pg.types.builtins.BYTEA, 'text') as (text: string) => Buffer;
      return (text) => {
        const buffer = parse(text);
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      };
    }
    default:
      // Text, and anything else (dates, JSON) as the text PostgreSQL sent.
      return (text) => text;
  }
}

const parsers = new Map<number, (text: string) => SqlValue>();

/** The type parsers of the store's pool: values come back as the embedded store's would (numbers, text, bytes). */
export const storeTypes: pg.CustomTypesConfig = {
  getTypeParser: ((typeId: number) => {
    let parser = parsers.get(typeId);
    if (parser === undefined) {
      parser = parserFor(typeId);
      parsers.set(typeId, parser);
    }
    return parser;
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Rows as domain code expects them: without the explicit rowid column, which SQLite's `SELECT *` leaves out. */
export function withoutRowid<T>(rows: T[]): T[] {
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- one fixed column, dropped from rows the driver made
  for (const row of rows) delete (row as Record<string, unknown>)[ROWID_COLUMN];
  return rows;
}
