import fs from 'node:fs';
import path from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic, type Statement } from 'sql.js';
import { locateAsset } from '../core/assets.js';
import { ZavhozError } from '../core/errors.js';
import { PRIVATE_FILE_MODE, removeIfExists } from '../core/files.js';
import { ErrorCodes } from '../protocol/errors.js';
import { JournalCorruptError, type JournalRecord, readJournal, type SqlValue } from './journal.js';
import { type CompiledWasm, takeCompiledSqlWasm, wasm, type WasmInstance } from './sqlWasm.js';

/**
 * The snapshot side of the store, shared by the daemon's thread (open, synchronous fold) and the fold worker
 * (foldWorker.ts), so both read, replay and write the files the same way.
 */

let sqlJs: Promise<SqlJsStatic> | undefined;

/** sql.js, compiled once per thread (in the daemon's thread, by the entry while the bundle loads: sqlWasm.ts). */
export function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= initSqlJsFrom(takeCompiledSqlWasm());
  return sqlJs;
}

function sqlWasmFile(): string {
  return locateAsset('sql-wasm.wasm', 'sql.js/dist/sql-wasm.wasm');
}

/**
 * Initializes sql.js with the module compiled in the background, or, if that compile failed, with one compiled
 * from the file here. sql.js gives `instantiateWasm` no way to report a failure, so a failure rejects through a
 * race instead of leaving the start waiting forever.
 */
function initSqlJsFrom(compiling: Promise<CompiledWasm> | undefined): Promise<SqlJsStatic> {
  if (!compiling) return initSqlJs({ locateFile: sqlWasmFile });
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => (fail = reject));
  const instantiate = async (imports: object): Promise<WasmInstance> => {
    const module = await compiling.catch(async () => wasm.compile(await fs.promises.readFile(sqlWasmFile())));
    return wasm.instantiate(module, imports);
  };
  const initialized = initSqlJs({
    instantiateWasm: (imports: object, receive: (instance: WasmInstance) => void) => {
      instantiate(imports).then(receive, fail);
      return {};
    },
  });
  return Promise.race([initialized, failed]);
}

/** The journal that a fold running in the background reads: the active journal is renamed to this when it starts. */
export function foldingJournalOf(journal: string): string {
  return `${journal}.folding`;
}

/** Where a fold worker writes the snapshot it builds, before it is renamed into place. */
export function foldOutputOf(database: string, unique: string): string {
  return `${database}.${unique}.fold`;
}

/** Removes what a fold cut short by the process ending left behind (never renamed into place, so never needed). */
export function removeAbandonedFolds(database: string): void {
  const folder = path.dirname(database);
  const prefix = `${path.basename(database)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix) && name.endsWith('.fold')) removeIfExists(path.join(folder, name));
}

/** Keeps the current snapshot as `<file>.prev` (a hard link) before a new one replaces it. */
export function keepPrevious(file: string): void {
  if (fs.existsSync(file) && fs.statSync(file).size > 0) {
    removeIfExists(`${file}.prev`);
    fs.linkSync(file, `${file}.prev`);
  }
}

/**
 * Loads the snapshot file (creating an empty private one in a new folder; the caller makes its name durable);
 * refuses a damaged one.
 */
export function loadSnapshot(SQL: SqlJsStatic, file: string): Database {
  let bytes: Buffer | undefined;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw damaged(file, file, error);
  }
  if (!bytes) {
    // A new data folder. Create the empty snapshot file now so it is private from the start.
    fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
    return new SQL.Database();
  }
  if (bytes.length === 0) return new SQL.Database();
  try {
    const db = new SQL.Database(bytes);
    const check = db.exec('PRAGMA quick_check')[0]?.values[0]?.[0];
    if (check !== 'ok') {
      db.close();
      throw new Error(`integrity check says: ${String(check)}`);
    }
    return db;
  } catch (error) {
    throw damaged(file, file, error);
  }
}

/** The journal sequence folded into a loaded snapshot (0 for a new one). */
export function snapshotSequence(db: Database): number {
  db.run('CREATE TABLE IF NOT EXISTS zavhoz_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  return Number(db.exec("SELECT value FROM zavhoz_meta WHERE key = 'journal_seq'")[0]?.values[0]?.[0] ?? 0);
}

/** Records the journal sequence a snapshot holds, just before it is exported. */
export function markSnapshotSequence(db: Database, seq: number): void {
  db.run("INSERT OR REPLACE INTO zavhoz_meta (key, value) VALUES ('journal_seq', ?)", [String(seq)]);
}

/**
 * Applies the records after `fromSeq` in one transaction with cached statements (per-record commits made a
 * 65,000-record journal take 6–10 s instead of well under one). Returns the last sequence applied. Throws
 * JournalCorruptError on a gap; the caller refuses to start.
 */
export function replay(db: Database, records: Iterable<JournalRecord>, fromSeq: number): number {
  let seq = fromSeq;
  const statements = new Map<string, Statement>();
  try {
    db.run('BEGIN');
    for (const record of records) {
      if (record.seq <= fromSeq) continue;
      if (record.seq !== seq + 1) throw new JournalCorruptError(`sequence ${record.seq} follows ${seq}`);
      for (const [sql, params] of record.operations) {
        let statement = statements.get(sql);
        if (!statement) statements.set(sql, (statement = db.prepare(sql)));
        statement.run(params as SqlValue[]);
      }
      seq = record.seq;
    }
    db.run('COMMIT');
    return seq;
  } finally {
    for (const statement of statements.values()) statement.free();
  }
}

/** The fold worker writes and syncs its snapshot this much at a time. */
const WRITE_STEP_BYTES = 1024 * 1024;

/** What the fold worker is asked to do: the snapshot plus these journals, written to `output` (fsync'ed). */
export interface FoldRequest {
  readonly database: string;
  readonly journals: readonly string[];
  readonly output: string;
}

/**
 * Builds the next snapshot from the files alone (the last snapshot and the journals, as a start would) and writes
 * it to `output`, synced. The caller renames it into place. Returns the sequence it holds.
 */
export async function writeFoldedSnapshot(request: FoldRequest): Promise<number> {
  const SQL = await loadSqlJs();
  const db = loadSnapshot(SQL, request.database);
  try {
    let seq = snapshotSequence(db);
    for (const journal of request.journals) seq = replay(db, readJournal(journal).records, seq);
    markSnapshotSequence(db, seq);
    const bytes = db.export();
    const fd = fs.openSync(request.output, 'w', PRIVATE_FILE_MODE);
    try {
      // In steps, each synced: the daemon's journal fdatasyncs share the disk, and one 16 MiB flush made each of
      // them wait for all of it.
      for (let offset = 0; offset < bytes.length; offset += WRITE_STEP_BYTES) {
        const length = Math.min(WRITE_STEP_BYTES, bytes.length - offset);
        let written = 0;
        while (written < length) written += fs.writeSync(fd, bytes, offset + written, length - written, offset + written);
        fs.fdatasyncSync(fd);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return seq;
  } finally {
    db.close();
  }
}

/** The error for a store that cannot be read: names the file, and the last good snapshot to go back to. */
export function damaged(brokenFile: string, database: string, cause: unknown): ZavhozError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const previous = `${database}.prev`;
  const fallback = fs.existsSync(previous)
    ? `The last good snapshot is ${previous}; to go back to it, stop Zavhoz, move ${brokenFile} aside and copy that file to ${database}.`
    : 'No earlier snapshot exists.';
  return new ZavhozError(
    ErrorCodes.StoreUnavailable,
    `The Zavhoz database file ${brokenFile} is damaged or unreadable (${reason}). Zavhoz will not start over with an empty database. ${fallback}`,
    { file: brokenFile, previous },
  );
}
