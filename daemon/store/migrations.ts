import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';

/**
 * The part of the store that migrating uses: a read and durable transactions. Declared here rather than importing
 * `Store`, because the store runs the migrations when it opens (store.ts imports this file, not the reverse).
 */
export interface MigrationTarget {
  get(sql: string): { readonly [column: string]: unknown } | undefined;
  transaction(work: (tx: { run(sql: string): void }) => void): void;
}

/** One numbered schema change. Versions start at 1 and have no gaps; statements must be deterministic. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

/**
 * Brings the schema up to the newest migration, all pending ones in one durable transaction (one fdatasync instead of
 * one per migration: a new data folder starts that much sooner), so the schema is never left between versions. A
 * database made by a newer Zavhoz is refused rather than guessed at.
 */
export function applyMigrations(store: MigrationTarget, migrations: readonly Migration[], file: string): void {
  const latest = migrations.length;
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${migration.version} is out of order`);
  });
  const current = Number(store.get('PRAGMA user_version')?.user_version ?? 0);
  if (current > latest) {
    throw new ZavhozError(
      ErrorCodes.StoreUnavailable,
      `The database ${file} was written by a newer Zavhoz (schema ${current}; this version knows up to ${latest}). Update Zavhoz; the file was left untouched.`,
    );
  }
  const pending = migrations.slice(current);
  if (pending.length === 0) return;
  store.transaction((tx) => {
    for (const migration of pending) {
      for (const statement of migration.statements) tx.run(statement);
    }
    tx.run(`PRAGMA user_version = ${latest}`);
  });
}
