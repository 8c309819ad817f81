/**
 * A private PostgreSQL 15 per test run (Debian's `postgresql` package): `initdb` into a temp folder, its own port on
 * 127.0.0.1 and its own socket folder, fsync on, stopped by its PID at the end (also when a test fails or forgets:
 * the process exit hook). PostgreSQL refuses to run as root, so when the tests run as root its programs run as the
 * `postgres` user (setpriv with an argument array; setpriv execs, so the PID we hold is the postmaster's own).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freeLoopbackPort } from './net.js';
import { delay, hasExited, killTreeSync, onProcessExit, removeFolder, signalQuietly, tailOf, waitForExit } from './processes.js';

const execFileAsync = promisify(execFile);

/** Where Debian installs PostgreSQL 15's server programs. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** How a test logs in; the password is a random test value, never a real one. */
export interface PostgresLogin {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

/** A running private PostgreSQL. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The superuser the cluster was made with. */
  readonly user: string;
  readonly password: string;
  /** The temp folder (data, sockets, log). */
  readonly dir: string;
  /** A PGPASSFILE (mode 0600) with the superuser's password for this server. */
  readonly passFile: string;
  /** The postmaster's PID (changes with each restart). */
  readonly pid: () => number | undefined;
  /** Makes a new empty database and returns how to log in to it. */
  createDatabase(name?: string): Promise<PostgresLogin>;
  /** Runs `work` on a short-lived superuser connection to `database` (default `postgres`), e.g. to end a session. */
  asSuperuser<T>(work: (client: pg.Client) => Promise<T>, database?: string): Promise<T>;
  /**
   * Stops the server and starts it again on the same port. `fast` (SIGINT): open transactions are rolled back and
   * connections closed; `immediate` (SIGQUIT): as after a crash, the restart replays the WAL.
   */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server by its PID and removes the folder. */
  stop(): Promise<void>;
  /** The server's log so far, for failure messages. */
  log(): string;
}

/** Runs PostgreSQL's programs as an unprivileged user when we are root. */
function asServerUser(program: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [program, [...args]];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', program, ...args]];
}

/** The environment of PostgreSQL's programs: none of the caller's PG* variables. */
function serverEnvironment(): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) environment[key] = value;
  environment.LC_ALL = 'C';
  return environment;
}

/** The `postgres` user's ids, when we are root and its programs run as it. */
let serverUserIds: { uid: number; gid: number } | undefined;

/** Gives a path to the server's user when we are root (initdb must own its data folder). */
function ownedByServerUser(path: string): void {
  if (serverUserIds) chownSync(path, serverUserIds.uid, serverUserIds.gid);
}

async function resolvePostgresIds(): Promise<void> {
  if (process.getuid?.() !== 0 || serverUserIds) return;
  const { stdout } = await execFileAsync('getent', ['passwd', 'postgres']);
  const fields = stdout.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('the postgres user does not exist: apt-get install postgresql');
  serverUserIds = { uid, gid };
}

/** Starts a private PostgreSQL 15 on 127.0.0.1 with a random superuser password. */
export async function startPostgres(): Promise<PostgresServer> {
  await resolvePostgresIds();
  const dir = mkdtempSync(join(tmpdir(), 'zavhoz-pg-'));
  let child: ChildProcess | undefined;
  const unregister = onProcessExit(() => {
    if (child) killTreeSync(child);
    removeFolder(dir);
  });
  const user = 'zavhoz';
  const password = randomBytes(18).toString('base64url');
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  const logPath = join(dir, 'postgres.log');
  try {
    ownedByServerUser(dir);
    mkdirSync(sockets, { mode: 0o700 });
    ownedByServerUser(sockets);
    const passwordPath = join(dir, 'initdb-password');
    writeFileSync(passwordPath, password, { mode: 0o600 });
    ownedByServerUser(passwordPath);
    const [initdb, initdbArgs] = asServerUser(join(POSTGRES_BIN, 'initdb'), [
      '--pgdata',
      data,
      '--username',
      user,
      `--pwfile=${passwordPath}`,
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      // Only initdb's own writes skip fsync (a test run never outlives a machine crash); the server runs with it on.
      '--no-sync',
    ]);
    try {
      await execFileAsync(initdb, initdbArgs, { env: serverEnvironment(), cwd: dir });
    } catch (error) {
      const failure = error as { stderr?: string; message: string };
      throw new Error(`initdb failed: ${failure.stderr ?? failure.message}`);
    }
    removeFolder(passwordPath);
    const passFile = join(dir, 'pgpass');
    const host = '127.0.0.1';

    let port = 0;
    for (let attempt = 0; attempt < 3 && child === undefined; attempt += 1) {
      port = await freeLoopbackPort();
      try {
        child = await launch(data, sockets, logPath, host, port, user, password);
      } catch (error) {
        if (!tailOf(logPath).includes('could not bind') || attempt === 2) throw error;
      }
    }
    writeFileSync(passFile, `${host}:${port}:*:${user}:${password.replaceAll('\\', '\\\\').replaceAll(':', '\\:')}\n`, { mode: 0o600 });

    let stopped = false;
    let databases = 0;
    const server: PostgresServer = {
      host,
      port,
      user,
      password,
      dir,
      passFile,
      pid: () => child?.pid,
      async createDatabase(name) {
        const database = name ?? `zavhoz_test_${++databases}`;
        await withClient({ host, port, user, password, database: 'postgres' }, (client) => client.query(`CREATE DATABASE ${database}`));
        return { host, port, user, password, database };
      },
      asSuperuser: (work, database = 'postgres') => withClient({ host, port, user, password, database }, work),
      async restart(mode = 'fast') {
        if (child) await stopPostmaster(child, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
        try {
          child = await launch(data, sockets, logPath, host, port, user, password);
        } catch (error) {
          throw new Error(`${(error as Error).message}\n${tailOf(logPath)}`);
        }
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        if (child) await stopPostmaster(child, 'SIGINT');
        removeFolder(dir);
        unregister();
      },
      log: () => tailOf(logPath),
    };
    return server;
  } catch (error) {
    if (child) await stopPostmaster(child, 'SIGQUIT').catch(() => undefined);
    const log = tailOf(logPath);
    removeFolder(dir);
    unregister();
    throw new Error(`${(error as Error).message}${log ? `\n${log}` : ''}`);
  }
}

/** Starts the postmaster and waits until it accepts a login. */
async function launch(data: string, sockets: string, logPath: string, host: string, port: number, user: string, password: string): Promise<ChildProcess> {
  const log = openSync(logPath, 'a');
  const [program, args] = asServerUser(join(POSTGRES_BIN, 'postgres'), [
    '-D',
    data,
    '-c',
    `listen_addresses=${host}`,
    '-c',
    `port=${port}`,
    '-c',
    `unix_socket_directories=${sockets}`,
    '-c',
    'fsync=on',
    '-c',
    'synchronous_commit=on',
    '-c',
    'full_page_writes=on',
    '-c',
    'max_connections=60',
    '-c',
    'shared_buffers=32MB',
    '-c',
    'logging_collector=off',
  ]);
  let child: ChildProcess;
  try {
    child = spawn(program, args, { env: serverEnvironment(), stdio: ['ignore', log, log] });
    // A missing program (postgresql not installed) is reported by the exit check below, not as an unhandled 'error'
    // event that would end the whole test process.
    child.on('error', () => undefined);
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (hasExited(child)) throw new Error(`postgres exited while starting (code ${String(child.exitCode)})`);
    try {
      await withClient({ host, port, user, password, database: 'postgres' }, (client) => client.query('SELECT 1'));
      return child;
    } catch (error) {
      if (Date.now() > deadline) {
        signalQuietly(child.pid ?? 0, 'SIGQUIT');
        await waitForExit(child, 5_000);
        throw new Error(`postgres did not accept logins on ${host}:${port} within 30 s: ${(error as Error).message}`);
      }
      await delay(50);
    }
  }
}

/** Stops the postmaster by its PID: `SIGINT` fast shutdown, `SIGQUIT` immediate; SIGKILL if it lingers. */
async function stopPostmaster(child: ChildProcess, signal: 'SIGINT' | 'SIGQUIT'): Promise<void> {
  if (child.pid === undefined || hasExited(child)) return;
  signalQuietly(child.pid, signal);
  if (await waitForExit(child, 15_000)) return;
  killTreeSync(child);
  await waitForExit(child, 5_000);
}

/** Runs `work` on one short-lived connection. */
async function withClient<T>(login: PostgresLogin, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...login, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
