import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, SqlJsStatic } from 'sql.js';
import { PRIVATE_FILE_MODE } from '../core/files.js';
import { applyMigrations, type Migration } from './migrations.js';
import { checksumOf, foldOutputOf, markSnapshotSequence, recordSnapshotChecksum, snapshotSequence } from './snapshotFile.js';

/**
 * A new data folder's database, built once by the build instead of by every first start: the build writes what
 * {@link migratedEmptyDatabase} returns for the product's migrations to `dist/empty-store.db`, and a store opened in a
 * new folder starts from a copy of it rather than running every migration (`npm run bench -- startup`, empty folder).
 * It holds exactly what the migrations produce (test/unit/store-empty-database.test.ts compares them), at journal
 * sequence 0.
 */
export const EMPTY_DATABASE_ASSET = 'empty-store.db';

/** Where the built daemon finds the asset: beside its bundle (it is absent when running from source). */
export function emptyDatabaseAsset(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), EMPTY_DATABASE_ASSET);
}

/**
 * The database a new data folder gets: an empty one migrated by the same code the store runs when it opens
 * (applyMigrations in one transaction, after the store's own meta table), exported at journal sequence 0.
 */
export function migratedEmptyDatabase(SQL: SqlJsStatic, migrations: readonly Migration[]): Uint8Array {
  const db = new SQL.Database();
  try {
    snapshotSequence(db);
    applyMigrations(
      {
        get: (sql) => {
          const [result] = db.exec(sql);
          return result && Object.fromEntries(result.columns.map((column, index) => [column, result.values[0]?.[index]]));
        },
        transaction: (work) => {
          db.run('BEGIN');
          try {
            work({ run: (sql) => db.run(sql) });
            db.run('COMMIT');
          } catch (error) {
            db.run('ROLLBACK');
            throw error;
          }
        },
      },
      migrations,
      EMPTY_DATABASE_ASSET,
    );
    markSnapshotSequence(db, 0);
    return db.export();
  } finally {
    db.close();
  }
}

/**
 * Starts a new data folder's snapshot file from the asset: returns the database, with the file written beside,
 * synced and renamed into place (the caller syncs the folder, which makes its name durable; a crash before that
 * leaves either no snapshot, a new folder again, or a whole one), or undefined (nothing written) when the asset is
 * missing, unreadable or not at the newest migration, so the store migrates as before.
 */
export function installEmptyDatabase(SQL: SqlJsStatic, asset: string, file: string, migrations: readonly Migration[]): Database | undefined {
  let db: Database;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(asset);
    db = new SQL.Database(bytes);
  } catch {
    return undefined;
  }
  try {
    const version = db.exec('PRAGMA user_version')[0]?.values[0]?.[0];
    if (version !== migrations.length) {
      db.close();
      return undefined;
    }
    // Named like a fold's output, so a start removes it if a crash leaves it behind (removeAbandonedFolds).
    const temporary = foldOutputOf(file, `${process.pid}-empty`);
    const fd = fs.openSync(temporary, 'w', PRIVATE_FILE_MODE);
    try {
      let written = 0;
      while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, written);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
    recordSnapshotChecksum(file, checksumOf(bytes));
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
