import fs from 'node:fs';
import path from 'node:path';
import type { Database, Statement } from 'sql.js';
import { ZavhozError } from '../core/errors.js';
import { syncFolder, writeFileAtomic } from '../core/files.js';
import { ErrorCodes } from '../protocol/errors.js';
import { installEmptyDatabase } from './emptyDatabase.js';
import { BackgroundFold } from './fold.js';
import { removePreparedJournal } from './foldJob.js';
import { Journal, type JournalOperation, readJournal, type SqlValue } from './journal.js';
import { applyMigrations, type Migration } from './migrations.js';
import { checkedSnapshot, checksumOf, damaged, foldingJournalOf, keepPrevious, removeAbandonedFolds, loadSnapshot, loadSqlJs, markSnapshotSequence, recordSnapshotChecksum, replay, snapshotSequence } from './snapshotFile.js';
import { takePrefetchedSnapshot } from './snapshotPrefetch.js';

export type { SqlValue } from './journal.js';

/** A row as returned by a query: column name → value. */
export type Row = Record<string, SqlValue>;

/** The write side of a transaction. Statements must be deterministic: pass times and random ids as params. */
export interface Transaction {
  run(sql: string, params?: readonly SqlValue[]): number;
  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): T[];
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape of the row its SQL selects
  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): T | undefined;
}

/** A transaction begun by {@link Store.begin}: its statements, then `commit` or `rollback`. */
export interface OpenTransaction extends Transaction {
  /** Makes the transaction durable (journal appended and fdatasync'ed), then commits; on failure nothing is kept. */
  commit(): void;
  /** Undoes the transaction; does nothing if it has already ended. */
  rollback(): void;
}

/** Options for {@link Store.open}. */
export interface StoreOptions {
  readonly database: string;
  readonly journal: string;
  readonly migrations: readonly Migration[];
  /**
   * A prebuilt database at the newest of `migrations` (emptyDatabase.ts), which a new data folder starts from instead
   * of running them; ignored when missing or at another version.
   */
  readonly emptyDatabase?: string;
  /** Fold the journal into a snapshot (in the background) once it passes this many bytes. */
  readonly snapshotAfterBytes?: number;
  /**
   * The fold worker's script; by default the bundle's, or from source the TypeScript entry through tsx (fold.ts).
   * The fold benchmark, which runs the store from source, passes the built one: the worker the daemon runs.
   */
  readonly foldWorkerScript?: string;
}

/**
 * The journal size past which it is folded into a snapshot, unless the options say otherwise: the most a start
 * replays after a crash (16 MiB took ~2.5 s to replay). Folds run in a worker, so folding more often costs writes
 * nothing.
 */
const DEFAULT_FOLD_AFTER_BYTES = 4 * 1024 * 1024;

/**
 * The daemon's database: SQLite (sql.js) in memory, made durable by a journal of committed transactions.
 * A transaction runs in SQLite first (so constraint errors surface before anything is written), then its
 * statements are appended to the journal and fdatasync'ed, then it commits. On start the last snapshot is loaded
 * and the journal replayed. When the journal grows past a limit it is folded into a new snapshot off the daemon's
 * thread (fold.ts): the journal is renamed aside and a new one started, and a worker builds the snapshot from the
 * files and puts it in place, so writes never wait for the database to be exported or its files renamed and synced.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();
  private inTransaction = false;
  private closed = false;
  private foldScheduled = false;
  private readonly fold: BackgroundFold;

  private constructor(
    private readonly db: Database,
    private journal: Journal,
    private seq: number,
    private readonly options: StoreOptions,
  ) {
    this.fold = new BackgroundFold({ database: options.database, journal: options.journal, workerScript: options.foldWorkerScript });
  }

  /** Opens the store, replaying the journal(s) and applying migrations; refuses damaged or newer files. */
  static async open(options: StoreOptions): Promise<Store> {
    const sqlJs = loadSqlJs();
    // Awaited below; a failure meanwhile is not an unhandled one.
    sqlJs.catch(() => undefined);
    removeAbandonedFolds(options.database);
    removePreparedJournal(options.journal);
    // A fold that was interrupted left its journal aside: its records come before the active journal's.
    const folding = foldingJournalOf(options.journal);
    const interruptedFold = fs.existsSync(folding);
    const newFolder = options.emptyDatabase !== undefined && !interruptedFold && !fs.existsSync(options.database) && !fs.existsSync(options.journal);
    // Taken whatever the case, so that the entry's read (if any) is let go. Its checksum needs no SQLite: it runs
    // while sql.js's module may still be compiling on another thread.
    const prefetched = await takePrefetchedSnapshot(options.database);
    const read = prefetched && !newFolder ? checkedSnapshot(options.database, prefetched) : undefined;
    const SQL = await sqlJs;
    const db = (newFolder && installEmptyDatabase(SQL, options.emptyDatabase, options.database, options.migrations)) || loadSnapshot(SQL, options.database, read);
    let seq = snapshotSequence(db);
    let opened: ReturnType<typeof Journal.open>;
    try {
      if (interruptedFold) seq = replay(db, readJournal(folding).records, seq);
    } catch (error) {
      db.close();
      throw damaged(folding, options.database, error);
    }
    try {
      opened = Journal.open(options.journal);
    } catch (error) {
      db.close();
      throw damaged(options.journal, options.database, error);
    }
    // One folder sync makes both names durable (the snapshot file's and the journal's) before any write to the journal
    // is acknowledged: started now, finished by then (Journal.syncFolderSoon). At every open: a daemon that created
    // them may have ended before its sync did.
    void opened.journal.syncFolderSoon();
    try {
      seq = replay(db, opened.contents.records, seq);
    } catch (error) {
      opened.journal.close();
      db.close();
      throw damaged(options.journal, options.database, error);
    }
    const store = new Store(db, opened.journal, seq, options);
    applyMigrations(store, options.migrations, options.database);
    // A short journal is cheap to replay and stays: folding it here cost every start an export and three fsyncs.
    if (interruptedFold) store.snapshot();
    else store.maybeFold();
    return store;
  }

  /**
   * Runs a read query. The column names are read once per query, not once per row as sql.js's `getAsObject` does:
   * that made reading 5,000 servers (`servers/list`, every page) 3–4 times slower.
   */
  all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): T[] {
    const statement = this.prepare(sql);
    try {
      statement.bind(params as SqlValue[]);
      const rows: T[] = [];
      let columns: string[] | undefined;
      while (statement.step()) {
        // After the first step: a statement SQLite prepared again (the schema changed) has its new columns by then.
        columns ??= statement.getColumnNames();
        const values = statement.get();
        const row: Row = {};
        for (let index = 0; index < columns.length; index++) row[columns[index] as string] = values[index] as SqlValue;
        rows.push(row as T);
      }
      return rows;
    } finally {
      statement.reset();
    }
  }

  /** Runs a read query and returns its first row. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape of the row its SQL selects
  get<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): T | undefined {
    return this.all<T>(sql, params)[0];
  }

  /**
   * Runs `work` as one transaction. When this returns, the change is on disk; if `work` throws, nothing of it
   * is kept. Transactions do not nest.
   */
  transaction<T>(work: (tx: Transaction) => T): T {
    const open = this.begin();
    let value: T;
    try {
      value = work(open);
    } catch (error) {
      open.rollback();
      throw error;
    }
    open.commit();
    return value;
  }

  /**
   * Begins a transaction that the caller ends with `commit` (durable when it returns) or `rollback`; what the
   * asynchronous database (embedded.ts) runs its transactions on, across turns of the event loop. Until it ends,
   * every read of this store sees its uncommitted rows, and no other transaction may begin.
   */
  begin(): OpenTransaction {
    this.assertOpen();
    if (this.inTransaction) throw new Error('store: transactions do not nest');
    this.inTransaction = true;
    const operations: JournalOperation[] = [];
    let ended = false;
    const end = (): void => {
      if (ended) throw new Error('store: this transaction has already ended');
      ended = true;
      this.inTransaction = false;
    };
    this.db.run('BEGIN');
    return {
      run: (sql, params = []) => {
        if (ended) throw new Error('store: this transaction has already ended');
        this.prepare(sql).run(params as SqlValue[]);
        operations.push([sql, [...params]]);
        return this.db.getRowsModified();
      },
      all: (sql, params) => this.all(sql, params),
      get: (sql, params) => this.get(sql, params),
      commit: () => {
        if (ended) throw new Error('store: this transaction has already ended');
        try {
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
        } catch (error) {
          this.db.run('ROLLBACK');
          end();
          throw error;
        }
        end();
        this.maybeFold();
      },
      rollback: () => {
        if (ended) return;
        this.db.run('ROLLBACK');
        end();
      },
    };
  }

  /**
   * Writes the whole database to its file atomically and empties the journal, here and now (a fold running in the
   * background is abandoned: this one holds more). The previous snapshot is kept as `<file>.prev`, the last good
   * copy named in damage reports.
   */
  snapshot(): void {
    this.assertOpen();
    this.fold.abandon();
    markSnapshotSequence(this.db, this.seq);
    const bytes = this.db.export();
    const file = this.options.database;
    keepPrevious(file);
    writeFileAtomic(file, bytes);
    recordSnapshotChecksum(file, checksumOf(bytes));
    const folding = foldingJournalOf(this.options.journal);
    if (fs.existsSync(folding)) {
      fs.unlinkSync(folding);
      syncFolder(path.dirname(folding));
    }
    this.journal.reset();
  }

  /** Resolves once no fold is running in the background (tests and the benchmark wait on it). */
  foldSettled(): Promise<void> {
    return this.fold.settled();
  }

  /** Folds the journal into a snapshot and closes. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    if (this.journal.size > 0 || this.fold.running) this.snapshot();
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

  /**
   * Starts a background fold once the journal passes the limit. Called between transactions only: the rename of
   * the journal must not split one. If the last fold never finished, its journal is still aside and this one
   * folds here and now instead (rare: a worker that failed).
   */
  private maybeFold(): void {
    const limit = this.options.snapshotAfterBytes ?? DEFAULT_FOLD_AFTER_BYTES;
    if (this.foldScheduled || this.fold.running || this.journal.size < limit) return;
    this.foldScheduled = true;
    // Not on the acknowledging path: the write that crossed the limit is already durable.
    setImmediate(() => {
      this.foldScheduled = false;
      if (this.closed || this.inTransaction || this.fold.running) return;
      if (fs.existsSync(foldingJournalOf(this.options.journal))) {
        this.snapshot();
        return;
      }
      try {
        this.journal = this.fold.start(this.journal, this.seq, (installed) => (installed ? this.maybeFold() : this.foldHereSoon()));
      } catch {
        // No fold this time (the folder could not take the rename): the journal goes on growing, durably.
      }
    });
  }

  /** After a fold that failed in the worker: fold here, once, so the renamed journal does not stay behind. */
  private foldHereSoon(): void {
    setImmediate(() => {
      if (!this.closed && !this.inTransaction && !this.fold.running) this.snapshot();
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new ZavhozError(ErrorCodes.ShuttingDown, 'The daemon is shutting down; try again in a moment.');
  }
}

