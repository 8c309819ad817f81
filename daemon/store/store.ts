import fs from 'node:fs';
import initSqlJs, { type Database, type SqlJsStatic, type Statement } from 'sql.js';
import { locateAsset } from '../core/assets.js';
import { ZavhozError } from '../core/errors.js';
import { PRIVATE_FILE_MODE, removeIfExists, syncFolder, writeFileAtomic } from '../core/files.js';
import { ErrorCodes } from '../protocol/errors.js';
import { Journal, JournalCorruptError, type JournalOperation, type SqlValue } from './journal.js';
import { applyMigrations, type Migration } from './migrations.js';
import path from 'node:path';

export type { SqlValue } from './journal.js';

/** A row as returned by a query: column name → value. */
export type Row = Record<string, SqlValue>;

/** The write side of a transaction. Statements must be deterministic: pass times and random ids as params. */
export interface Transaction {
  run(sql: string, params?: readonly SqlValue[]): number;
  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): T[];
  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): T | undefined;
}

/** Options for {@link Store.open}. */
export interface StoreOptions {
  readonly database: string;
  readonly journal: string;
  readonly migrations: readonly Migration[];
  /** Fold the journal into a snapshot once it passes this many bytes. */
  readonly snapshotAfterBytes?: number;
}

let sqlJs: Promise<SqlJsStatic> | undefined;

function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= initSqlJs({ locateFile: () => locateAsset('sql-wasm.wasm', 'sql.js/dist/sql-wasm.wasm') });
  return sqlJs;
}

/**
 * The daemon's database: SQLite (sql.js) in memory, made durable by a journal of committed transactions.
 * A transaction runs in SQLite first (so constraint errors surface before anything is written), then its
 * statements are appended to the journal and fdatasync'ed, then it commits. On start the last snapshot is loaded
 * and the journal replayed; now and then the journal is folded into a new snapshot, written atomically.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();
  private inTransaction = false;
  private snapshotScheduled = false;
  private closed = false;

  private constructor(
    private readonly db: Database,
    private readonly journal: Journal,
    private seq: number,
    private readonly options: StoreOptions,
  ) {}

  /** Opens the store, replaying the journal and applying migrations; refuses damaged or newer files. */
  static async open(options: StoreOptions): Promise<Store> {
    const SQL = await loadSqlJs();
    const db = loadSnapshot(SQL, options.database);
    db.run('CREATE TABLE IF NOT EXISTS zavhoz_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const snapshotSeq = Number(db.exec("SELECT value FROM zavhoz_meta WHERE key = 'journal_seq'")[0]?.values[0]?.[0] ?? 0);

    let opened: ReturnType<typeof Journal.open>;
    try {
      opened = Journal.open(options.journal);
    } catch (error) {
      db.close();
      throw damaged(options.journal, options.database, error);
    }
    let seq = snapshotSeq;
    // One transaction and cached statements for the whole replay: a failed replay refuses to start anyway,
    // and per-record commits made a 65,000-record journal take 6–10 s instead of well under one.
    const replayStatements = new Map<string, Statement>();
    try {
      db.run('BEGIN');
      for (const record of opened.contents.records) {
        if (record.seq <= snapshotSeq) continue;
        if (record.seq !== seq + 1) throw new JournalCorruptError(`sequence ${record.seq} follows ${seq}`);
        for (const [sql, params] of record.operations) {
          let statement = replayStatements.get(sql);
          if (!statement) replayStatements.set(sql, (statement = db.prepare(sql)));
          statement.run(params as SqlValue[]);
        }
        seq = record.seq;
      }
      db.run('COMMIT');
    } catch (error) {
      for (const statement of replayStatements.values()) statement.free();
      opened.journal.close();
      db.close();
      throw damaged(options.journal, options.database, error);
    }
    for (const statement of replayStatements.values()) statement.free();
    const store = new Store(db, opened.journal, seq, options);
    applyMigrations(store, options.migrations, options.database);
    if (opened.journal.size > 0) store.snapshot();
    return store;
  }

  /** Runs a read query. */
  all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): T[] {
    const statement = this.prepare(sql);
    try {
      statement.bind(params as SqlValue[]);
      const rows: T[] = [];
      while (statement.step()) rows.push(statement.getAsObject() as T);
      return rows;
    } finally {
      statement.reset();
    }
  }

  /** Runs a read query and returns its first row. */
  get<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): T | undefined {
    return this.all<T>(sql, params)[0];
  }

  /**
   * Runs `work` as one transaction. When this returns, the change is on disk; if `work` throws, nothing of it
   * is kept. Transactions do not nest.
   */
  transaction<T>(work: (tx: Transaction) => T): T {
    this.assertOpen();
    if (this.inTransaction) throw new Error('store: transactions do not nest');
    this.inTransaction = true;
    const operations: JournalOperation[] = [];
    const tx: Transaction = {
      run: (sql, params = []) => {
        this.prepare(sql).run(params as SqlValue[]);
        operations.push([sql, [...params]]);
        return this.db.getRowsModified();
      },
      all: (sql, params) => this.all(sql, params),
      get: (sql, params) => this.get(sql, params),
    };
    this.db.run('BEGIN');
    try {
      const value = work(tx);
      if (operations.length > 0) {
        try {
          this.journal.append({ seq: this.seq + 1, operations });
        } catch (error) {
          throw new ZavhozError(
            ErrorCodes.StoreUnavailable,
            `Could not save the change to ${this.journal.path}: ${(error as Error).message}. Free disk space or check the folder's permissions, then try again.`,
          );
        }
        this.seq++;
      }
      this.db.run('COMMIT');
      this.maybeScheduleSnapshot();
      return value;
    } catch (error) {
      this.db.run('ROLLBACK');
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  /**
   * Writes the whole database to its file atomically and empties the journal. The previous snapshot is kept
   * as `<file>.prev`, the last good copy named in damage reports.
   */
  snapshot(): void {
    this.assertOpen();
    this.db.run("INSERT OR REPLACE INTO zavhoz_meta (key, value) VALUES ('journal_seq', ?)", [String(this.seq)]);
    const bytes = this.db.export();
    const file = this.options.database;
    if (fs.existsSync(file) && fs.statSync(file).size > 0) {
      removeIfExists(`${file}.prev`);
      fs.linkSync(file, `${file}.prev`);
    }
    writeFileAtomic(file, bytes);
    this.journal.reset();
  }

  /** Folds the journal into a snapshot and closes. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    if (this.journal.size > 0) this.snapshot();
    this.closed = true;
    for (const statement of this.statements.values()) statement.free();
    this.statements.clear();
    this.journal.close();
    this.db.close();
  }

  /** Number of transactions since the store was created, for status and tests. */
  get sequence(): number {
    return this.seq;
  }

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private maybeScheduleSnapshot(): void {
    const limit = this.options.snapshotAfterBytes ?? 16 * 1024 * 1024;
    if (this.snapshotScheduled || this.journal.size < limit) return;
    this.snapshotScheduled = true;
    // Not on the acknowledging path: the write that crossed the limit is already durable.
    setImmediate(() => {
      this.snapshotScheduled = false;
      if (!this.closed && !this.inTransaction) this.snapshot();
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new ZavhozError(ErrorCodes.ShuttingDown, 'The daemon is shutting down; try again in a moment.');
  }
}

function loadSnapshot(SQL: SqlJsStatic, file: string): Database {
  let bytes: Buffer | undefined;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw damaged(file, file, error);
  }
  if (!bytes) {
    // A new data folder. Create the empty snapshot file now so it is private from the start.
    fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
    syncFolder(path.dirname(file));
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

function damaged(brokenFile: string, database: string, cause: unknown): ZavhozError {
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
