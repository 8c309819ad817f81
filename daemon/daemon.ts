import crypto from 'node:crypto';
import { AuditLog } from './core/audit.js';
import { ZavhozError } from './core/errors.js';
import { ensurePrivateFolder, removeIfExists, writeFileAtomic } from './core/files.js';
import { acquireLock, type LockOwner } from './core/lock.js';
import { Logger } from './core/logger.js';
import { type DataPaths, dataPaths } from './core/paths.js';
import { Redactor } from './core/redactor.js';
import { ZAVHOZ_VERSION } from './core/version.js';
import { registerHandlers } from './handlers/index.js';
import { registerLifecycleHandlers } from './handlers/lifecycle.js';
import { ErrorCodes } from './protocol/errors.js';
import { DaemonWillShutdown, PROTOCOL_VERSION } from './protocol/lifecycle.js';
import { Router } from './server/router.js';
import { DaemonServer } from './server/server.js';
import { SettingsService } from './settings/settings.js';
import type { Lifecycle, Services } from './services.js';
import { MIGRATIONS } from './store/schema.js';
import { Store } from './store/store.js';
import { vaultConfigFromEnvironment } from './vault/config.js';
import { Vault } from './vault/vault.js';
import { InventoryService } from './inventory/service.js';
import { DeployService } from './deploy/service.js';
import { deploySecretsFrom, deployTargetsFrom } from './deploy/wiring.js';
import { createGithubService } from './github/wiring.js';
import { pushSecretsAfterDeploy } from './github/afterDeploy.js';

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
 * token and listens. Throws {@link AlreadyRunningError} if a live daemon owns the folder, and a ZavhozError with a
 * message for the user if the store cannot be opened.
 */
export async function startDaemon(folder: string): Promise<RunningDaemon> {
  const paths = dataPaths(folder);
  ensurePrivateFolder(paths.folder);
  const lock = acquireLock(paths.lock);
  if (!lock.acquired) throw new AlreadyRunningError(lock.owner);

  const redactor = new Redactor();
  const fileLevel = process.env.ZAVHOZ_LOG_LEVEL === 'debug' ? 'debug' : 'info';
  const logger = new Logger({ file: paths.log, redactor, fileLevel });
  const log = logger.child({ component: 'daemon' });
  const startedAt = new Date();
  log.info('daemon starting', { pid: process.pid, version: ZAVHOZ_VERSION, folder: paths.folder });

  let store: Store;
  try {
    store = await Store.open({ database: paths.database, journal: paths.journal, migrations: MIGRATIONS });
  } catch (error) {
    log.error('store could not be opened', { error: (error as Error).message });
    logger.close();
    lock.release();
    throw error;
  }

  const token = crypto.randomBytes(32).toString('hex');
  writeFileAtomic(paths.token, token);

  const router = new Router(redactor, logger.child({ component: 'rpc' }));
  const describe = (): { daemonVersion: string; pid: number; dataFolder: string } => ({
    daemonVersion: ZAVHOZ_VERSION,
    pid: process.pid,
    dataFolder: paths.folder,
  });
  const server = new DaemonServer({ socketPath: paths.socket, token, router, log, describe });
  logger.subscribe((line, level) => server.forwardLog(line, level));
  const stoppers: (() => Promise<void> | void)[] = [];
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
      // Store writes are synchronous transactions: none can be half-done here. Fold the journal and close.
      store.close();
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
  };

  const settings = new SettingsService(store, server);
  const audit = new AuditLog(store);
  const vault = new Vault({
    store,
    audit,
    redactor,
    notifier: server,
    log: logger.child({ component: 'vault' }),
    ...vaultConfigFromEnvironment(paths.folder, redactor),
  });
  lifecycle.onShutdown(() => vault.stop());
  const inventory = new InventoryService({ store, settings, notifier: server, secrets: vault, audit, log: logger.child({ component: 'inventory' }) });
  lifecycle.onShutdown(() => inventory.stop());
  const deploy = new DeployService({
    store,
    runsFolder: paths.runs,
    redactor,
    log: logger.child({ component: 'deploy' }),
    notifier: server,
    connections: server,
    audit,
    secrets: deploySecretsFrom(vault),
    targets: deployTargetsFrom(inventory.inventory, inventory.allocator, vault),
  });
  // Registered last, so it stops first: running playbooks are killed (runs end `interrupted`) while the vault is up.
  lifecycle.onShutdown(() => deploy.shutdown());
  try {
    // Runs a crash left `running` become `interrupted`, and their secret files go, before any client can look.
    await deploy.recover();
  } catch (error) {
    log.error('deploy run recovery failed', { error: (error as Error).message });
  }
  const github = createGithubService({ store, audit, vault, redactor, notifier: server, settings, inventory, log: logger.child({ component: 'github' }) });
  // After every successful deploy, CI gets what it needs to redeploy on push (issue 6).
  deploy.afterSuccess((run, note) => pushSecretsAfterDeploy(github, settings.all(), run, note));
  const services: Services = {
    paths,
    store,
    redactor,
    logger,
    log,
    notifier: server,
    settings,
    audit,
    vault,
    inventory,
    allocator: inventory.allocator,
    deploy,
    github,
    lifecycle,
  };

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

  try {
    await server.listen();
  } catch (error) {
    store.close();
    logger.close();
    lock.release();
    throw new ZavhozError(ErrorCodes.StoreUnavailable, `Could not listen on ${paths.socket}: ${(error as Error).message}`);
  }
  log.info('daemon ready', { socket: paths.socket });
  // In the background: a locked keychain must not keep the daemon from starting.
  vault.start();
  // Periodic provider sync and health checks; stopped through the lifecycle at shutdown.
  inventory.start();
  return { paths, services, stopped, shutdown };
}
