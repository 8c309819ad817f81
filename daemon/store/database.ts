import type { HeldSharedLock, SharedLockHolder, SharedLockOutcome, SharedLockTurnOptions } from '../core/sharedLocks.js';
import type { SqlValue } from './journal.js';

/** A row as returned by a query: column name → value. */
export type DatabaseRow = Record<string, SqlValue>;

/**
 * The store as domain code sees it, whichever engine holds the data: the embedded one (SQLite in memory, made
 * durable by a journal; the default, needs nothing) or a team's PostgreSQL. Asynchronous, because a networked
 * store answers over a socket; the embedded store answers at once.
 *
 * SQL is written once, in SQLite's dialect with `?` placeholders; a store for another engine translates it
 * (placeholders, `INSERT OR IGNORE`, `PRAGMA user_version`). Statements must be deterministic: pass times and random
 * ids as params, so that replaying a journal gives the same rows.
 */
export interface Database {
  /** `embedded` or `postgres`, for status and logs. */
  readonly engine: DatabaseEngine;
  /** Runs a read query. */
  all<T extends DatabaseRow = DatabaseRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a read query and returns its first row. */
  get<T extends DatabaseRow = DatabaseRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /**
   * Runs `work` as one transaction: once the promise resolves the change is durable; if `work` rejects nothing of
   * it is kept. Transactions do not nest, and a transaction's work reads through `tx`, never through the database
   * itself (that read would wait for the transaction it is part of). Transactions of one daemon run one at a time.
   */
  transaction<T>(work: (tx: DatabaseTransaction) => Promise<T>): Promise<T>;
  /**
   * Takes the lock `key` across every daemon that uses this database, without waiting: the held lock (kept until
   * released, or until this daemon's connection ends), or who holds it. On the embedded store only this daemon
   * uses the database, so the lock is an in-process one.
   */
  lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome>;
  /**
   * Waits for the lock `key` in line with the work of every daemon that uses this database, first come, first
   * served, and takes it when its turn comes. Absent on the embedded store: one daemon, whose own queue orders it.
   */
  lockInTurn?(key: string, holder: SharedLockHolder, options: SharedLockTurnOptions): Promise<HeldSharedLock>;
  /** Makes everything durable and lets go of the engine. Safe to call twice. */
  close(): Promise<void>;
}

/** The inside of a transaction. */
export interface DatabaseTransaction {
  /** Runs a statement that writes; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  all<T extends DatabaseRow = DatabaseRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T extends DatabaseRow = DatabaseRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /**
   * Waits for the lock `key` across every daemon that uses this database and holds it until the transaction ends:
   * what a read-then-write over state other daemons also change takes first (the allocator's ports of a server). The
   * embedded store's transactions already run one at a time, so there it answers at once.
   */
  lock(key: string): Promise<void>;
}

/** The engines a store can run on. */
export type DatabaseEngine = 'embedded' | 'postgres';
