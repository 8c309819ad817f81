import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
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
/** The compiled module this thread's sql.js runs on, once compiled, handed to fold workers ({@link compiledSqlWasm}). */
let sqlWasmModule: CompiledWasm | undefined;

/**
 * sql.js, initialized once per thread: in the daemon's thread from the module the entry compiles while the bundle
 * loads (sqlWasm.ts); in a fold worker from the module the daemon's thread hands it (`compiled`).
 */
export function loadSqlJs(compiled?: CompiledWasm): Promise<SqlJsStatic> {
  if (!sqlJs) {
    const compiling = compiled ? Promise.resolve(compiled) : (takeCompiledSqlWasm() ?? compileSqlWasmFile());
    // A failed compile is handled where the module is used (initSqlJsFrom compiles the file again).
    compiling.then((module) => (sqlWasmModule = module)).catch(() => undefined);
    sqlJs = initSqlJsFrom(compiling);
  }
  return sqlJs;
}

/**
 * The compiled sql.js module of this thread, once loaded; undefined before, or if its compile failed. A fold worker
 * given it (structured-cloned: V8 shares the compiled code) instantiates it instead of compiling the 0.7 MB module
 * again, which ran on V8's background threads, beside the daemon's, at every fold.
 */
export function compiledSqlWasm(): CompiledWasm | undefined {
  return sqlWasmModule;
}

function sqlWasmFile(): string {
  return locateAsset('sql-wasm.wasm', 'sql.js/dist/sql-wasm.wasm');
}

/** Compiles sql.js's module from its file (running from source: the entry that compiles it ahead did not run). */
function compileSqlWasmFile(): Promise<CompiledWasm> {
  return new Promise<Buffer>((resolve, reject) => {
    fs.readFile(sqlWasmFile(), (error, bytes) => (error ? reject(error) : resolve(bytes)));
  }).then((bytes) => wasm.compile(bytes));
}

/**
 * Initializes sql.js with the module compiled in the background, or, if that compile failed, with one compiled
 * from the file here. sql.js gives `instantiateWasm` no way to report a failure, so a failure rejects through a
 * race instead of leaving the start waiting forever.
 */
function initSqlJsFrom(compiling: Promise<CompiledWasm>): Promise<SqlJsStatic> {
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

/** The file beside a snapshot that records the checksum of the bytes last put in place as that snapshot. */
export function snapshotChecksumOf(database: string): string {
  return `${database}.checksum`;
}

/**
 * Where snapshots written before `.checksum` recorded their SHA-256 (the bare hex digest). A folder from then still
 * loads without an integrity check when it matches; the next snapshot written records `.checksum` and removes it.
 */
export function legacySnapshotChecksumOf(database: string): string {
  return `${database}.sha256`;
}

/** Node's own CRC-32 (zlib, Node ≥ 20.15); missing before that, where SHA-256 is recorded instead. */
function nativeCrc32(): ((data: Uint8Array) => number) | undefined {
  const { crc32 } = zlib as { crc32?: (data: Uint8Array) => number };
  return typeof crc32 === 'function' ? crc32 : undefined;
}

/** The digest of `bytes` by `algorithm`, or undefined when this Node cannot compute it. */
function digestOf(algorithm: string, bytes: Uint8Array): string | undefined {
  if (algorithm === 'sha256') return crypto.createHash('sha256').update(bytes).digest('hex');
  const crc32 = algorithm === 'crc32' ? nativeCrc32() : undefined;
  return crc32 && (crc32(bytes) >>> 0).toString(16).padStart(8, '0');
}

/**
 * The checksum recorded for a snapshot's bytes: `<algorithm> <digest> <length>`, CRC-32 where Node has it natively.
 * The check guards against accidental damage (a torn or partly overwritten file, a disk that returns other bytes),
 * not against anyone who means harm: whoever can write the data folder can write the checksum beside the snapshot
 * as easily. CRC-32 catches such damage (every burst up to 32 bits, other changes but for one in 2^32) at a third
 * of SHA-256's time on the start's thread (16 MB at 100k rows: ~3.4 ms instead of ~9.5 ms).
 */
export function checksumOf(bytes: Uint8Array): string {
  const algorithm = nativeCrc32() ? 'crc32' : 'sha256';
  return `${algorithm} ${digestOf(algorithm, bytes) ?? ''} ${bytes.length}`;
}

/**
 * Records the checksum of the snapshot just put in place, so the next load can skip SQLite's integrity check of a
 * file that is byte for byte one the store wrote from a sound database (the check read every page: 40–70 ms of CPU
 * at 100k rows, most of what such a start costs beyond an empty one). Not synced, and never a reason to refuse a
 * file: a checksum that is missing, stale or torn only means the file is checked as before. The legacy `.sha256`
 * goes once `.checksum` is written (a crash in between leaves both; the new one is read first).
 */
export function recordSnapshotChecksum(database: string, checksum: string): void {
  const file = snapshotChecksumOf(database);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, checksum, { mode: PRIVATE_FILE_MODE });
    fs.renameSync(temporary, file);
  } catch {
    removeIfExists(temporary);
  }
  try {
    removeIfExists(legacySnapshotChecksumOf(database));
  } catch {
    // Stale at worst: `.checksum`, read first, names the snapshot in place, or (missing) sends it to the check.
  }
}

/** The file's text, or undefined if it cannot be read. */
function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * True when the checksum recorded beside `database` is that of `bytes`: `.checksum` if there is one (whichever
 * algorithm it names), else a legacy `.sha256`. Anything unreadable, torn or unknown is not a match.
 */
function matchesRecordedChecksum(database: string, bytes: Uint8Array): boolean {
  const recorded = readIfPresent(snapshotChecksumOf(database));
  if (recorded !== undefined) {
    const [algorithm = '', digest, length, ...rest] = recorded.split(' ');
    return rest.length === 0 && length === String(bytes.length) && digest !== undefined && digest === digestOf(algorithm, bytes);
  }
  const legacy = readIfPresent(legacySnapshotChecksumOf(database));
  return legacy !== undefined && legacy === digestOf('sha256', bytes);
}

/** A snapshot file's bytes, read ahead (snapshotPrefetch.ts), and whether they are those its recorded checksum names. */
export interface CheckedSnapshot {
  readonly bytes: Buffer;
  readonly matchesChecksum: boolean;
}

/** Compares bytes read ahead of `file` with the checksum recorded beside it, before sql.js is needed. */
export function checkedSnapshot(file: string, bytes: Buffer): CheckedSnapshot {
  return { bytes, matchesChecksum: matchesRecordedChecksum(file, bytes) };
}

/**
 * Loads the snapshot file (creating an empty private one in a new folder; the caller makes its name durable);
 * refuses a damaged one. SQLite checks its integrity unless its bytes are exactly those last written as the snapshot
 * (recordSnapshotChecksum). `read`: the file's bytes when the caller has them already, compared with the checksum.
 */
export function loadSnapshot(SQL: SqlJsStatic, file: string, read?: CheckedSnapshot): Database {
  let bytes = read?.bytes;
  if (!bytes) {
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw damaged(file, file, error);
    }
  }
  if (!bytes) {
    // A new data folder. Create the empty snapshot file now so it is private from the start.
    fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
    return new SQL.Database();
  }
  if (bytes.length === 0) return new SQL.Database();
  try {
    const db = new SQL.Database(bytes);
    if (read?.matchesChecksum ?? matchesRecordedChecksum(file, bytes)) return db;
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

/**
 * The journal sequence folded into a loaded snapshot (0 for a new one, whose meta table is created here). Read first
 * and created only when missing: a `CREATE TABLE IF NOT EXISTS` ahead of every read made each start run a write
 * transaction before its first query.
 */
export function snapshotSequence(db: Database): number {
  try {
    return Number(db.exec("SELECT value FROM zavhoz_meta WHERE key = 'journal_seq'")[0]?.values[0]?.[0] ?? 0);
  } catch (error) {
    if (!/no such table: zavhoz_meta/.test((error as Error).message)) throw error;
  }
  db.run('CREATE TABLE IF NOT EXISTS zavhoz_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  return 0;
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
  /** sql.js's module as the daemon's thread compiled it, if it has one ({@link compiledSqlWasm}). */
  readonly sqlWasm?: CompiledWasm | undefined;
}

/** What a fold built: the sequence its snapshot holds and the snapshot's checksum. */
export interface FoldedSnapshot {
  readonly seq: number;
  readonly checksum: string;
}

/**
 * Builds the next snapshot from the files alone (the last snapshot and the journals, as a start would) and writes
 * it to `output`, synced. The caller renames it into place (and records its checksum).
 */
export async function writeFoldedSnapshot(request: FoldRequest): Promise<FoldedSnapshot> {
  const SQL = await loadSqlJs(request.sqlWasm);
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
    return { seq, checksum: checksumOf(bytes) };
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
