import { AsyncLocalStorage } from 'node:async_hooks';
import type { SharedLockHolder, SharedLockOutcome } from '../core/sharedLocks.js';
import type { Database, DatabaseRow, DatabaseTransaction } from './database.js';
import type { SqlValue } from './journal.js';
import type { OpenTransaction, Store } from './store.js';

/** The database of each open store (see {@link EmbeddedDatabase.of}). */
const OPEN = new WeakMap<Store, EmbeddedDatabase>();

/** What a transaction's work runs inside: lets a call through the database from that work be told apart. */
interface WorkScope {
  /** False once the transaction ended: a promise the work left running may use the database again. */
  active: boolean;
}

/**
 * The embedded store (SQLite in memory, made durable by its journal) as the asynchronous {@link Database} that
 * domain code uses. sql.js has one connection, so a transaction that spans turns of the event loop would let any
 * other read see its uncommitted rows, and a second transaction would nest inside it. So the daemon's transactions
 * run one at a time, in the order they were asked for, and a read outside a transaction waits for the ones before it.
 * A read when nothing is queued answers at once, without a turn of the event loop.
 *
 * A transaction's work that calls the database itself instead of its `tx` would wait for its own transaction for
 * ever: that call is refused with a programming error instead (the work runs in an async context that marks it).
 */
export class EmbeddedDatabase implements Database {
  readonly engine = 'embedded' as const;
  private readonly scope = new AsyncLocalStorage<WorkScope>();
  /** Settles when the last queued transaction or read has ended. */
  private tail: Promise<void> = Promise.resolve();
  /** Transactions and reads queued or running. */
  private queued = 0;
  private closing: Promise<void> | undefined;
  /** Locks held through {@link lock}: key → holder. */
  private readonly held = new Map<string, SharedLockHolder>();

  /** `store` is the open embedded store; this database closes it in {@link close}. Use {@link of}. */
  private constructor(readonly store: Store) {}

  /** The database over `store`: one per store, so that everything using the store shares its queue. */
  static of(store: Store): EmbeddedDatabase {
    let database = OPEN.get(store);
    if (!database) {
      database = new EmbeddedDatabase(store);
      OPEN.set(store, database);
    }
    return database;
  }

  all<T extends DatabaseRow = DatabaseRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.read('all', () => this.store.all<T>(sql, params));
  }

  get<T extends DatabaseRow = DatabaseRow>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.read('get', () => this.store.get<T>(sql, params));
  }

  transaction<T>(work: (tx: DatabaseTransaction) => Promise<T>): Promise<T> {
    const refused = this.refuseFromWork('transaction');
    if (refused) return Promise.reject(refused);
    return this.enqueue(() => this.runTransaction(work));
  }

  /** One daemon uses the embedded store, so its locks are in-process: held, or refused naming the holder. */
  lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome> {
    const current = this.held.get(key);
    if (current) return Promise.resolve({ heldBy: current });
    this.held.set(key, holder);
    let released = false;
    const release = (): Promise<void> => {
      if (!released && this.held.get(key) === holder) this.held.delete(key);
      released = true;
      return Promise.resolve();
    };
    return Promise.resolve({ held: { release } });
  }

  /** Waits for the queued transactions, then folds the journal and closes the store. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.tail.then(() => this.store.close());
    return this.closing;
  }

  private read<T>(method: string, query: () => T): Promise<T> {
    const refused = this.refuseFromWork(method);
    if (refused) return Promise.reject(refused);
    if (this.queued === 0) return settle(query);
    return this.enqueue(query);
  }

  /** Runs `job` after every job queued before it; at once (in this turn) when nothing is queued. */
  private enqueue<T>(job: () => T | Promise<T>): Promise<T> {
    this.queued++;
    const result = this.queued === 1 ? settle(job) : this.tail.then(job);
    const done = (): void => {
      this.queued--;
    };
    this.tail = result.then(done, done);
    return result;
  }

  private async runTransaction<T>(work: (tx: DatabaseTransaction) => Promise<T>): Promise<T> {
    const open = this.store.begin();
    const scope: WorkScope = { active: true };
    const tx = inside(open, scope);
    try {
      const value = await this.scope.run(scope, () => work(tx));
      scope.active = false;
      open.commit();
      return value;
    } catch (error) {
      scope.active = false;
      open.rollback();
      throw error;
    }
  }

  /** The error for a call through the database from inside a transaction's work, which would wait for itself. */
  private refuseFromWork(method: string): Error | undefined {
    if (!this.scope.getStore()?.active) return undefined;
    return new Error(
      method === 'transaction'
        ? 'store: transactions do not nest; a transaction\'s work runs its statements through its tx'
        : `store: a transaction's work called database.${method}(), which waits for that transaction to end; read through tx.${method}() instead`,
    );
  }
}

/** The `tx` a transaction's work gets: the open transaction's statements, refused once it has ended. */
function inside(open: OpenTransaction, scope: WorkScope): DatabaseTransaction {
  /** Runs `statement` while the transaction is open; refused once it has ended. */
  const checked = <T>(statement: () => T): Promise<T> =>
    settle(() => {
      if (!scope.active) throw new Error('store: this transaction has already ended; its tx cannot be used any more');
      return statement();
    });
  return {
    // The daemon's transactions run one at a time, and no other daemon uses this store: nothing to wait for.
    lock: () => checked(() => undefined),
    run: (sql, params) => checked(() => open.run(sql, params)),
    all: <T extends DatabaseRow = DatabaseRow>(sql: string, params?: readonly SqlValue[]) => checked(() => open.all<T>(sql, params)),
    get: <T extends DatabaseRow = DatabaseRow>(sql: string, params?: readonly SqlValue[]) => checked(() => open.get<T>(sql, params)),
  };
}

/** What `work` returns, as a promise; what it throws, as a rejected one (the store's statements run synchronously). */
function settle<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
