import pg from 'pg';
import { ZavhozError } from '../../core/errors.js';
import { ErrorCodes } from '../../protocol/errors.js';
import type { HeldSharedLock, SharedLockHolder, SharedLockOutcome, SharedLockTurnOptions } from '../../core/sharedLocks.js';
import type { Database, DatabaseRow, DatabaseTransaction } from '../database.js';
import type { SqlValue } from '../journal.js';
import type { Migration } from '../migrations.js';
import { busy, type DatabaseAddress, isConnectionError, isPoolBusy, storeError, unavailable } from './errors.js';
import { ChangeListener, type ChangeListenerEvents } from './listener.js';
import { applyPostgresMigrations } from './migrate.js';
import { passwordFromFile } from './passfile.js';
import { SessionLocks } from './sessionLocks.js';
import { type SchemaFacts, schemaOf, type TranslatedStatement, translateStatement } from './translate.js';
import { storeTypes, withoutRowid } from './types.js';

/** Where the team database is and how to log in. Never a URL with a password in it. */
export interface PostgresConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /**
   * The password, asked for on each new connection: a function that fetches it (from the vault, by handle) is
   * better than a string kept in memory. Without it and without `passFile`, the server must not ask for one.
   */
  readonly password?: string | (() => Promise<string>);
  /** A PostgreSQL password file (PGPASSFILE format, mode 0600) to read the password from. */
  readonly passFile?: string;
  /** Connections this daemon keeps at most (default 4). */
  readonly maxConnections?: number;
  /** How long a new connection may take before the store reports the database unreachable (default 5 s). */
  readonly connectTimeoutMs?: number;
  /**
   * How long a statement may wait for its answer before the connection is given up as lost (default 60 s): a
   * network cut sends no reset, and without a limit a request would wait for TCP to notice.
   */
  readonly queryTimeoutMs?: number;
  /** Shown in pg_stat_activity, so a team can tell members' daemons apart. */
  readonly applicationName?: string;
}

/** Options for {@link PostgresDatabase.open}. */
export interface PostgresStoreOptions {
  readonly connection: PostgresConnection;
  readonly migrations: readonly Migration[];
  /** Told about connections the pool lost while idle (the next request opens a new one). */
  readonly onConnectionLost?: (reason: string) => void;
}

/** How many statement translations a store keeps: the daemon's statements are a few hundred fixed texts. */
const TRANSLATION_CACHE_LIMIT = 4_000;

type Runner = Pick<pg.ClientBase, 'query'>;

/**
 * The store on a team's PostgreSQL, behind the same {@link Database} interface as the embedded one. SQL arrives in
 * SQLite's dialect and is translated once per statement text (translate.ts). A transaction runs on one pooled
 * connection between BEGIN and COMMIT and resolves only after COMMIT returned, so an acknowledged write is durable
 * on the server; transactions of this daemon run one at a time, as on the embedded store. A lost connection or a
 * restarted server fails the request with a StoreUnavailable error, and the pool opens new connections as requests
 * come, so the daemon recovers without a restart.
 */
export class PostgresDatabase implements Database {
  readonly engine = 'postgres';
  private readonly translations = new Map<string, TranslatedStatement>();
  private readonly listening = new WeakSet<pg.PoolClient>();
  private readonly listeners = new Set<ChangeListener>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private sessionLocks: SessionLocks | undefined;

  private constructor(
    private readonly config: pg.PoolConfig,
    private readonly pool: pg.Pool,
    private readonly schema: SchemaFacts,
    /** Host and port, as messages name the database. */
    readonly address: DatabaseAddress,
    private readonly onConnectionLost: ((reason: string) => void) | undefined,
  ) {}

  /** Connects, applies pending migrations (under an advisory lock shared by the team's daemons) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresDatabase> {
    const { connection } = options;
    const address: DatabaseAddress = { host: connection.host, port: connection.port };
    const queryTimeoutMs = connection.queryTimeoutMs ?? 60_000;
    const config: pg.PoolConfig = {
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: connection.user,
      password: passwordOf(connection),
      max: connection.maxConnections ?? 4,
      connectionTimeoutMillis: connection.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      // TCP probes start after 10 s of silence, not the system's 2 hours: a cut network is noticed on idle
      // connections (the listener's above all, which only ever waits).
      keepAliveInitialDelayMillis: 10_000,
      // The server cancels a statement slower than this, and the connection stays usable; the driver gives up on a
      // server silent for 5 s longer (query_timeout), which only a lost connection is.
      statement_timeout: queryTimeoutMs,
      query_timeout: queryTimeoutMs + 5_000,
      // A daemon that dies or is cut off inside a transaction must not hold its row locks until TCP gives up.
      idle_in_transaction_session_timeout: queryTimeoutMs,
      application_name: connection.applicationName ?? 'zavhoz',
      types: storeTypes,
    };
    const pool = new pg.Pool(config);
    // An idle connection the server closed (restart, network cut) is dropped by the pool; without a listener the
    // event would end the process.
    pool.on('error', (error) => options.onConnectionLost?.(error.message));
    const schema = schemaOf(options.migrations.flatMap((migration) => migration.statements));
    const database = new PostgresDatabase(config, pool, schema, address, options.onConnectionLost);
    try {
      const client = await database.connect();
      let broken = false;
      try {
        await applyPostgresMigrations(client, options.migrations, (sql) => database.translate(sql), address);
      } catch (error) {
        broken = isConnectionError(error);
        throw error;
      } finally {
        client.release(broken);
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw storeError(error, address);
    }
    return database;
  }

  async all<T extends DatabaseRow = DatabaseRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.assertOpen();
    try {
      return await this.read<T>(this.pool, sql, params);
    } catch (error) {
      if (isPoolBusy(error)) throw this.busy();
      // A read changes nothing, so one that met a connection the server had already closed is tried once more.
      if (!isConnectionError(error)) throw storeError(error, this.address, sql);
      try {
        return await this.read<T>(this.pool, sql, params);
      } catch (again) {
        throw storeError(again, this.address, sql);
      }
    }
  }

  async get<T extends DatabaseRow = DatabaseRow>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  transaction<T>(work: (tx: DatabaseTransaction) => Promise<T>): Promise<T> {
    this.assertOpen();
    const run = this.queue.then(() => this.runTransaction(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome> {
    return this.locks().lock(key, holder);
  }

  lockInTurn(key: string, holder: SharedLockHolder, options: SharedLockTurnOptions): Promise<HeldSharedLock> {
    return this.locks().lockInTurn(key, holder, options);
  }

  /** The shared locks' own connection, opened when first asked for. */
  private locks(): SessionLocks {
    this.assertOpen();
    this.sessionLocks ??= new SessionLocks(this.singleConnectionConfig('locks'), this.address, (reason, locks) =>
      this.onConnectionLost?.(`the connection holding ${locks.length} shared lock(s) was lost (${reason}); they are free for other members until taken again on a new connection`),
    );
    return this.sessionLocks;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map((listener) => listener.close()));
    await this.sessionLocks?.close();
    await this.queue;
    await this.pool.end();
  }

  /**
   * Listens on `channels` on a connection of its own, which comes back by itself after the server was lost (then
   * `onReconnected` says that notifications may have been missed). Closed with the store.
   */
  async listen(channels: readonly string[], events: ChangeListenerEvents): Promise<ChangeListener> {
    this.assertOpen();
    const listener = new ChangeListener(this.singleConnectionConfig('listener'), channels, events);
    try {
      await listener.start();
    } catch (error) {
      throw storeError(error, this.address);
    }
    this.listeners.add(listener);
    return listener;
  }

  /** Sends `payload` (at most 8000 bytes: names and ids, never values) to every listener of `channel`. */
  async notify(channel: string, payload: string): Promise<void> {
    this.assertOpen();
    const send = (): Promise<unknown> => this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    try {
      // Like a read, tried once more on a connection the server had closed: a repeated change notice is harmless.
      await send().catch((error: unknown) => (isConnectionError(error) ? send() : Promise.reject(error)));
    } catch (error) {
      throw storeError(error, this.address);
    }
  }

  /** The pool's settings for a connection of its own (the listener's, the shared locks'), named in pg_stat_activity. */
  private singleConnectionConfig(purpose: string): pg.ClientConfig {
    const { max: _max, idleTimeoutMillis: _idle, ...single } = this.config;
    return { ...single, application_name: `${this.config.application_name ?? 'zavhoz'} ${purpose}` };
  }

  /** The statement in PostgreSQL's dialect, translated once per text. */
  translate(sql: string): TranslatedStatement {
    let translated = this.translations.get(sql);
    if (translated === undefined) {
      translated = translateStatement(sql, this.schema);
      if (this.translations.size >= TRANSLATION_CACHE_LIMIT) this.translations.clear();
      this.translations.set(sql, translated);
    }
    return translated;
  }

  private async runTransaction<T>(work: (tx: DatabaseTransaction) => Promise<T>): Promise<T> {
    const client = await this.beginOnFreshConnection();
    let active = true;
    let failed: Error | undefined;
    let committing = false;
    // `as boolean`: execute() sets it too, where the checker's narrowing to `false` cannot see.
    let broken = false as boolean;
    const execute = async (sql: string, params: readonly SqlValue[], native = false): Promise<pg.QueryResult<DatabaseRow>> => {
      if (!active) throw new Error('store: a transaction was used after it ended');
      // PostgreSQL ends a transaction at its first failed statement: the rest of it must not pretend otherwise.
      if (failed !== undefined) throw failed;
      try {
        return native ? await client.query<DatabaseRow>(sql, params as unknown[]) : await this.execute(client, sql, params);
      } catch (error) {
        // A lost connection takes the transaction with it: no ROLLBACK to send (it would wait for the same dead
        // socket), and the connection is not given back to the pool.
        if (isConnectionError(error)) broken = true;
        failed = storeError(error, this.address, sql);
        throw failed;
      }
    };
    const tx: DatabaseTransaction = {
      // Held until COMMIT or ROLLBACK; another daemon asking for the same name waits (statement_timeout bounds it).
      lock: async (key) => {
        await execute('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key], true);
      },
      run: async (sql, params = []) => (await execute(sql, params)).rowCount ?? 0,
      all: async <R extends DatabaseRow = DatabaseRow>(sql: string, params: readonly SqlValue[] = []) => withoutRowid((await execute(sql, params)).rows as R[]),
      get: async <R extends DatabaseRow = DatabaseRow>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> => {
        const rows = withoutRowid((await execute(sql, params)).rows as R[]);
        return rows[0];
      },
    };
    try {
      const value = await work(tx);
      if (failed !== undefined) throw failed;
      committing = true;
      const committed = await client.query('COMMIT');
      // COMMIT of a transaction the server had already aborted answers ROLLBACK rather than an error.
      if (committed.command !== 'COMMIT') {
        throw new ZavhozError(ErrorCodes.Conflict, `The team database at ${this.address.host}:${this.address.port} rolled the change back when it was saved; nothing of it was kept. Try again.`);
      }
      return value;
    } catch (error) {
      if (isConnectionError(error) || broken) {
        broken = true;
        if (committing) {
          throw new ZavhozError(
            ErrorCodes.StoreUnavailable,
            `The connection to the team database at ${this.address.host}:${this.address.port} broke while the change was being saved, so whether it was saved is unknown: check before repeating it. Zavhoz reconnects by itself.`,
          );
        }
      } else {
        // A ROLLBACK that fails leaves the connection in an unknown state: it is closed rather than reused.
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      throw storeError(error, this.address);
    } finally {
      active = false;
      client.release(broken);
    }
  }

  /**
   * A pooled connection with BEGIN run on it. A connection the server closed while it sat idle is found out here,
   * before any work ran, and replaced once.
   */
  private async beginOnFreshConnection(): Promise<pg.PoolClient> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect();
      try {
        await client.query('BEGIN');
        return client;
      } catch (error) {
        client.release(true);
        if (attempt > 0 || !isConnectionError(error)) throw storeError(error, this.address);
      }
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      const client = await this.pool.connect();
      if (!this.listening.has(client)) {
        // A checked-out connection that breaks between two statements emits 'error' (the pool listens only to idle
        // ones): without a listener that would end the daemon. The statement under way fails on its own.
        this.listening.add(client);
        client.on('error', (error) => this.onConnectionLost?.(error.message));
      }
      return client;
    } catch (error) {
      if (isPoolBusy(error)) throw this.busy();
      throw isConnectionError(error) ? unavailable(this.address, reasonOf(error)) : storeError(error, this.address);
    }
  }

  private async read<T extends DatabaseRow>(runner: Runner, sql: string, params: readonly SqlValue[]): Promise<T[]> {
    return withoutRowid((await this.execute(runner, sql, params)).rows as T[]);
  }

  private async execute(runner: Runner, sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<DatabaseRow>> {
    const statement = this.translate(sql);
    if (statement.parameterCount !== params.length) {
      throw new Error(`store: the statement takes ${statement.parameterCount} parameters, ${params.length} given (statement: ${sql.slice(0, 120)})`);
    }
    return runner.query<DatabaseRow>(statement.text, params as unknown[]);
  }

  /** The error of a request that waited the whole connect timeout for one of this daemon's busy connections. */
  private busy(): ZavhozError {
    return busy(this.address, { connections: this.config.max ?? 0, waitedMs: this.config.connectionTimeoutMillis ?? 0 });
  }

  private assertOpen(): void {
    if (this.closed) throw new ZavhozError(ErrorCodes.ShuttingDown, 'The daemon is shutting down; try again in a moment.');
  }
}

/** The driver's password option: a value, a function that fetches it, or a line of a password file. */
function passwordOf(connection: PostgresConnection): string | (() => Promise<string>) | undefined {
  const { password, passFile } = connection;
  if (password !== undefined) return password;
  if (passFile === undefined) return undefined;
  return () => Promise.resolve(passwordFromFile(passFile, connection));
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
