import crypto from 'node:crypto';
import fs from 'node:fs';
import { ZavhozError } from './core/errors.js';
import { ensurePrivateFolder, PRIVATE_FILE_MODE, removeIfExists } from './core/files.js';
import { acquireLock, type LockOwner } from './core/lock.js';
import { Logger, type ScopedLogger } from './core/logger.js';
import { type DataPaths, dataPaths } from './core/paths.js';
import { Redactor } from './core/redactor.js';
import { collectStartGarbage } from './core/startGarbage.js';
import { ZAVHOZ_VERSION } from './core/version.js';
import { registerHandlers } from './handlers/index.js';
import { registerLifecycleHandlers } from './handlers/lifecycle.js';
import { ErrorCodes } from './protocol/errors.js';
import { DaemonWillShutdown, PROTOCOL_VERSION } from './protocol/lifecycle.js';
import { Router } from './server/router.js';
import { DaemonServer } from './server/server.js';
import { emptyDatabaseAsset } from './store/emptyDatabase.js';
import { MIGRATIONS } from './store/schema.js';
import type { Database } from './store/database.js';
import { EmbeddedDatabase } from './store/embedded.js';
import { Store } from './store/store.js';
import { wireServices } from './wiring/index.js';
import { type ChosenStore, chooseStore } from './wiring/store.js';
import type { Lifecycle, Services } from './wiring/services.js';

/** Raised when another live daemon already owns the data folder. */
export class AlreadyRunningError extends Error {
  constructor(readonly owner: LockOwner) {
    super(`A Zavhoz daemon is already running for this data folder (pid ${owner.pid}).`);
  }
}

/** A started daemon. */
export interface RunningDaemon {
  readonly paths: DataPaths;
  readonly services: Services;
  /** Resolves once the daemon has shut down, whatever asked it to. */
  readonly stopped: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

/** Grace period for in-flight requests during shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Starts the daemon for one data folder: takes the folder lock, opens the log and the store, writes a fresh
 * token, builds the capabilities (daemon/wiring/) and listens. Throws {@link AlreadyRunningError} if a live daemon
 * owns the folder, and a ZavhozError with a message for the user if the store cannot be opened.
 */
export async function startDaemon(folder: string): Promise<RunningDaemon> {
  const { paths, lock } = claimDataFolder(folder);
  const logging = openLogging(paths);
  const startedAt = new Date();
  logging.log.info('daemon starting', { pid: process.pid, version: ZAVHOZ_VERSION, folder: paths.folder });
  const chosen = await openStore(paths, logging, lock);
  const { store } = chosen;
  const router = new Router(logging.redactor, logging.logger.child({ component: 'rpc' }));
  const server = createServer(paths, router, logging);
  const daemon: DaemonProcess = { paths, lock, logging, store, local: chosen.local, router, server };
  const stopping = prepareShutdown(daemon);
  const services = await wireServices({ ...logging, paths, store, localStore: chosen.local, team: chosen.team, server, lifecycle: stopping.lifecycle, environment: process.env });
  registerAllHandlers(daemon, services, stopping.lifecycle, startedAt);
  await listen(daemon);
  logging.log.info('daemon ready', { socket: paths.socket });
  await startBackgroundWork(services, stopping.lifecycle);
  void collectStartGarbage(stopping.startWork);
  return { paths, services, stopped: stopping.stopped, shutdown: stopping.shutdown };
}

/** The data folder's lock, held while the daemon runs. */
interface FolderLock {
  release(): void;
}

/** The log of one daemon: every line passes the redactor. */
interface Logging {
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly log: ScopedLogger;
}

/** What the daemon process holds open: released, closed or removed at shutdown (or when starting fails). */
interface DaemonProcess {
  readonly paths: DataPaths;
  readonly lock: FolderLock;
  readonly logging: Logging;
  readonly store: Database;
  /** The daemon's own embedded store: `store` itself, unless the daemon runs on a team's. */
  readonly local: Database;
  readonly router: Router;
  readonly server: DaemonServer;
}

/** Creates the data folder if needed and takes its lock, so that one daemon at most works on it. */
function claimDataFolder(folder: string): { paths: DataPaths; lock: FolderLock } {
  const paths = dataPaths(folder);
  ensurePrivateFolder(paths.folder);
  const lock = acquireLock(paths.lock);
  if (!lock.acquired) throw new AlreadyRunningError(lock.owner);
  return { paths, lock };
}

function openLogging(paths: DataPaths): Logging {
  const redactor = new Redactor();
  const fileLevel = process.env.ZAVHOZ_LOG_LEVEL === 'debug' ? 'debug' : 'info';
  const logger = new Logger({ file: paths.log, redactor, fileLevel });
  return { redactor, logger, log: logger.child({ component: 'daemon' }) };
}

/**
 * Opens the embedded store (replaying its journal and migrating), then the team's store if the folder joined one
 * (wiring/store.ts); if that fails, what was opened is closed, the log too, and the lock released.
 */
async function openStore(paths: DataPaths, logging: Logging, lock: FolderLock): Promise<ChosenStore> {
  let local: Database | undefined;
  try {
    local = EmbeddedDatabase.of(await Store.open({ database: paths.database, journal: paths.journal, migrations: MIGRATIONS, emptyDatabase: emptyDatabaseAsset() }));
    return await chooseStore(local, { folder: paths.folder, environment: process.env, redactor: logging.redactor, log: logging.log });
  } catch (error) {
    await local?.close().catch(() => undefined);
    logging.log.error('store could not be opened', { error: (error as Error).message });
    logging.logger.close();
    lock.release();
    throw error;
  }
}

/** The RPC server, with a fresh token on disk for clients to authenticate with, forwarding log lines to subscribers. */
function createServer(paths: DataPaths, router: Router, logging: Logging): DaemonServer {
  const token = crypto.randomBytes(32).toString('hex');
  writeToken(paths.token, token);
  const describe = (): { daemonVersion: string; pid: number; dataFolder: string } => ({
    daemonVersion: ZAVHOZ_VERSION,
    pid: process.pid,
    dataFolder: paths.folder,
  });
  const server = new DaemonServer({ socketPath: paths.socket, token, router, log: logging.log, describe });
  logging.logger.subscribe((line, level) => server.forwardLog(line, level));
  return server;
}

/**
 * Writes this run's token whole (by rename, so a client never reads half of it) but not synced: it is worth
 * nothing after the daemon that wrote it ends, and a crash ends that daemon too. Syncing it and its folder cost two
 * fsyncs of every start.
 */
function writeToken(file: string, token: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, token, { mode: PRIVATE_FILE_MODE });
  fs.renameSync(temporary, file);
}

/**
 * The shutdown sequence, run once whatever asks for it: tell clients, stop background work (latest registered
 * first), let requests drain, close the server and the store, remove the token, release the lock.
 */
function prepareShutdown(daemon: DaemonProcess): {
  lifecycle: Lifecycle;
  shutdown: (reason: string) => Promise<void>;
  stopped: Promise<void>;
  /** What the start began in the background (`Lifecycle.startedInBackground`). */
  startWork: Promise<unknown>[];
} {
  const { paths, lock, logging, store, local, router, server } = daemon;
  const { log, logger } = logging;
  const stoppers: (() => Promise<void> | void)[] = [];
  const startWork: Promise<unknown>[] = [];
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let shuttingDown: Promise<void> | undefined;

  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log.info('daemon stopping', { reason });
      server.notify(DaemonWillShutdown, { reason });
      for (const stop of stoppers.reverse()) {
        try {
          await stop();
        } catch (error) {
          log.warn('stopping background work failed', { error: (error as Error).message });
        }
      }
      const idle = await router.drain(SHUTDOWN_GRACE_MS);
      if (!idle) log.warn('requests still running at shutdown', { inFlight: router.inFlight });
      await server.close();
      // Waits for the store's queued transactions, then folds the journal and closes.
      await store.close();
      if (local !== store) await local.close();
      removeIfExists(paths.token);
      log.info('daemon stopped');
      logger.close();
      lock.release();
      resolveStopped();
    })();
    return shuttingDown;
  };

  const lifecycle: Lifecycle = {
    onShutdown: (stop) => stoppers.push(stop),
    requestShutdown: (reason) => void shutdown(reason),
    startedInBackground: (work) => {
      startWork.push(work);
    },
  };
  return { lifecycle, shutdown, stopped, startWork };
}

/** The daemon's own requests (status, log subscription, shutdown), then every capability's. */
function registerAllHandlers(daemon: DaemonProcess, services: Services, lifecycle: Lifecycle, startedAt: Date): void {
  const { paths, router, server } = daemon;
  registerLifecycleHandlers(
    router,
    {
      status: () => ({
        pid: process.pid,
        daemonVersion: ZAVHOZ_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        dataFolder: paths.folder,
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
        clients: server.clients(),
      }),
      subscribeLog: (connectionId, level) => server.subscribeLog(connectionId, level),
    },
    lifecycle,
  );
  registerHandlers(router, services);
}

/** Listens on the data folder's socket; if that fails, the store and log are closed and the lock released. */
async function listen(daemon: DaemonProcess): Promise<void> {
  const { paths, store, local, logging, lock, server } = daemon;
  try {
    await server.listen();
  } catch (error) {
    await store.close();
    if (local !== store) await local.close();
    logging.logger.close();
    lock.release();
    throw new ZavhozError(ErrorCodes.StoreUnavailable, `Could not listen on ${paths.socket}: ${(error as Error).message}`);
  }
}

/**
 * How long after listening the vault gets ready in the background. Its preparation (the keychain's native add-on,
 * the backend check, the fingerprint key, masking every stored value) holds the daemon's one thread for 30–60 ms,
 * which the first clients' requests (initialize, status, the views' lists) would wait behind; a request that needs
 * the vault sooner prepares it itself.
 */
const VAULT_START_DELAY_MS = 300;

/** Starts what runs on its own once clients can connect; each part is stopped through the lifecycle at shutdown. */
async function startBackgroundWork(services: Services, lifecycle: Lifecycle): Promise<void> {
  // In the background: a locked keychain must not keep the daemon from starting.
  const vaultStart = setTimeout(() => services.vault.start(), VAULT_START_DELAY_MS);
  lifecycle.onShutdown(() => clearTimeout(vaultStart));
  // Periodic provider sync and health checks.
  await services.inventory.start();
}
