import type { DatabaseRow, DatabaseTransaction } from '../database.js';
import type { SqlValue } from '../journal.js';

/** A table or column name of the schema: what may be spliced into a statement's text. */
const NAME = /^[a-z_][a-z0-9_]*$/;

/** Rows per INSERT statement, and parameters at most (PostgreSQL takes 65,535 per statement). */
const ROWS_PER_STATEMENT = 200;
const PARAMETERS_PER_STATEMENT = 16_000;

/**
 * Writes rows read from another store of the same schema into `table`, inside `tx`, a few hundred per statement (a
 * team store filled by `team join --copy-local` may get thousands of servers over the network). The columns are the
 * rows' own names; every row must have the same ones. Returns how many rows were written.
 */
export async function insertRows(tx: DatabaseTransaction, table: string, rows: readonly DatabaseRow[]): Promise<number> {
  const first = rows[0];
  if (first === undefined) return 0;
  const columns = Object.keys(first);
  for (const name of [table, ...columns]) {
    if (!NAME.test(name)) throw new Error(`store: "${name}" is not a table or column name of the schema`);
  }
  const perStatement = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor(PARAMETERS_PER_STATEMENT / columns.length)));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  let written = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const batch = rows.slice(start, start + perStatement);
    const params: SqlValue[] = [];
    for (const row of batch) {
      for (const column of columns) {
        if (!(column in row)) throw new Error(`store: a row of ${table} lacks the column ${column}`);
        params.push(row[column] ?? null);
      }
    }
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`;
    written += await tx.run(sql, params);
  }
  return written;
}
