import crypto from 'node:crypto';
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError, describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { ServerInfo, SyncResult } from '../protocol/servers.js';
import type { Provider } from '../providers/provider.js';
import { Time4vpsProvider } from '../providers/time4vps.js';
import type { SettingsService } from '../settings/settings.js';
import type { Database } from '../store/database.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import { mapWithLimit } from './concurrency.js';
import { type CheckCall, HealthChecker, type HealthOptions, sshTargetOf } from './health.js';
import { Inventory, type ServerAllocations } from './inventory.js';
import { PeriodicTask } from './periodic.js';
import { type SshConnection, type SshOptions, openSsh } from './ssh.js';
import { ProviderSync } from './sync.js';
import { RemoteFiles } from './remoteFiles.js';
import { ServerReboots } from './reboot.js';

/** How many servers the periodic health check contacts at once. */
const CHECK_CONCURRENCY = 4;

/** What the inventory capability needs from the daemon. */
export interface InventoryDependencies {
  readonly store: Database;
  readonly settings: SettingsService;
  readonly notifier: Notifier;
  readonly secrets: SecretReader;
  readonly audit: AuditLog;
  /** The allocation ledger, which removing or ghosting a server releases (built by the wiring, not here). */
  readonly allocations: ServerAllocations;
  readonly log: ScopedLogger;
  readonly clock?: () => Date;
  /** Builds the provider from the settings; the default reads the Time4VPS keys. Undefined = none configured. */
  readonly provider?: () => Provider | undefined;
  readonly health?: HealthOptions;
}

/** The Time4VPS provider described by the settings, or undefined while its login handles are not set. */
export function providerFromSettings(settings: SettingsService, secrets: SecretReader): Provider | undefined {
  const all = settings.all();
  if (!all.time4vpsLoginSecret || !all.time4vpsPasswordSecret) return undefined;
  return new Time4vpsProvider({
    apiBase: all.time4vpsApiBase,
    loginSecret: all.time4vpsLoginSecret,
    passwordSecret: all.time4vpsPasswordSecret,
    secrets,
  });
}

/**
 * The inventory capability as the daemon holds it: servers, provider sync and health checks, plus the
 * periodic sync and check timers (started by {@link start}, stopped by {@link stop} at shutdown).
 */
export class InventoryService {
  readonly inventory: Inventory;
  readonly health: HealthChecker;
  /** `server upload` / `server fetch` over SFTP. */
  readonly files: RemoteFiles;
  /** `server reboot`. */
  readonly reboots: ServerReboots;
  private readonly providerSync: ProviderSync;
  private readonly syncTask: PeriodicTask;
  private readonly checkTask: PeriodicTask;
  private syncing: Promise<SyncResult> | undefined;
  private readonly checkHooks: ((handle: string, call: CheckCall) => Promise<void>)[] = [];
  private readonly removeHooks: ((handle: string, call: CheckCall) => Promise<void>)[] = [];
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly dependencies: InventoryDependencies) {
    const { store, settings, notifier, secrets, audit, allocations, log, clock } = dependencies;
    this.inventory = new Inventory(store, settings, notifier, allocations, secrets, clock);
    this.health = new HealthChecker(store, this.inventory, secrets, audit, dependencies.health, clock);
    this.files = new RemoteFiles({ audit, openSsh: (handle, use, options) => this.openSsh(handle, use, options) });
    this.reboots = new ServerReboots({
      audit,
      notifier,
      openSsh: (handle, use, options) => this.openSsh(handle, use, options),
      address: async (handle) => {
        const target = sshTargetOf(await this.inventory.row(handle));
        return { host: target.host, port: target.port };
      },
      check: (handle, call) => this.check(handle, call),
    });
    this.providerSync = new ProviderSync(store, () => settings.get('ghostServers'), notifier, clock);
    this.syncTask = new PeriodicTask(
      'provider sync',
      () => (this.provider() ? settings.get('syncIntervalSeconds') : 0),
      async (signal) => {
        const result = await this.sync({ client: 'daemon', requestId: backgroundRequestId('sync'), signal });
        log.info('provider sync done', { provider: result.provider, total: result.total, added: result.added.length, missing: result.missing.length });
      },
      log,
    );
    this.checkTask = new PeriodicTask('health check', () => settings.get('healthCheckIntervalSeconds'), (signal) => this.checkAll(signal), log);
  }

  /** Starts the periodic work and follows setting changes (ghost list, intervals, provider login). */
  async start(): Promise<void> {
    await this.inventory.reevaluateGhosts();
    this.unsubscribe = this.dependencies.settings.onDidChange(async (key) => {
      try {
        if (key === 'ghostServers') await this.inventory.reevaluateGhosts();
        if (key === 'syncIntervalSeconds' || key.startsWith('time4vps')) this.syncTask.schedule();
        if (key === 'healthCheckIntervalSeconds') this.checkTask.schedule();
      } catch (error) {
        this.dependencies.log.warn('reacting to a setting change failed', { key, error: describeError(error) });
      }
    });
    this.syncTask.schedule();
    this.checkTask.schedule();
  }

  /** Stops the timers and waits for a running sync or check round. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all([this.syncTask.stop(), this.checkTask.stop()]);
  }

  /** Syncs with the configured provider now; a sync already running is shared rather than doubled. */
  sync(call: CheckCall): Promise<SyncResult> {
    const provider = this.provider();
    if (!provider) {
      return Promise.reject(
        new ZavhozError(
          ErrorCodes.PreconditionFailed,
          'No provider is configured. Store the Time4VPS API login and password with `zavhoz secret set`, then `zavhoz config set time4vpsLoginSecret NAME` and `zavhoz config set time4vpsPasswordSecret NAME`.',
        ),
      );
    }
    this.syncing ??= this.providerSync.sync(provider, call).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Health-checks one server now; then the after-check hooks run (their failures are logged, never the check's). */
  async check(handle: string, call: CheckCall): Promise<ServerInfo> {
    const info = await this.health.check(handle, call);
    for (const hook of this.checkHooks) {
      try {
        await hook(handle, call);
      } catch (error) {
        this.dependencies.log.warn('after-check step failed', { server: handle, error: describeError(error) });
      }
    }
    return info;
  }

  /** Registers work that follows every successful health check of a server (the domains bring a stopped proxy back). */
  afterCheck(hook: (handle: string, call: CheckCall) => Promise<void>): void {
    this.checkHooks.push(hook);
  }

  /** Removes a server (see `Inventory.remove`); then the after-remove hooks run (their failures are logged). */
  async remove(handle: string, force: boolean, call: CheckCall): Promise<{ removed: string; releasedAllocations: number }> {
    const removed = await this.inventory.remove(handle, force);
    for (const hook of this.removeHooks) {
      try {
        await hook(handle, call);
      } catch (error) {
        this.dependencies.log.warn('after-remove step failed', { server: handle, error: describeError(error) });
      }
    }
    return removed;
  }

  /** Registers work that follows the removal of a server (the domains forget its proxy and the domains it routed). */
  afterRemove(hook: (handle: string, call: CheckCall) => Promise<void>): void {
    this.removeHooks.push(hook);
  }

  /**
   * Opens SSH to a server with its vault key and pinned host key (deploy pre-flight, terminal). Never-checked servers
   * are refused; so are ghost servers unless `allowUnmanaged` (a terminal the user opened by hand, not automation).
   */
  async openSsh(
    handle: string,
    use: SecretUse,
    options: Omit<SshOptions, 'allowFirstContact'> & { allowUnmanaged?: boolean } = {},
  ): Promise<SshConnection> {
    const row = await this.inventory.row(handle);
    if (row.managed !== 1 && !options.allowUnmanaged) {
      throw new ZavhozError(ErrorCodes.PreconditionFailed, `Server ${handle} is a ghost server (not managed); automation does not touch it. Run \`zavhoz server manage ${handle}\` to change that.`);
    }
    return openSsh(sshTargetOf(row), this.dependencies.secrets, use, options);
  }

  private provider(): Provider | undefined {
    return this.dependencies.provider ? this.dependencies.provider() : providerFromSettings(this.dependencies.settings, this.dependencies.secrets);
  }

  private async checkAll(signal: AbortSignal): Promise<void> {
    const handles = (
      await this.dependencies.store.all<{ handle: string }>("SELECT handle FROM servers WHERE managed = 1 AND ssh_key_secret IS NOT NULL AND status != 'missing' ORDER BY handle")
    ).map((row) => row.handle);
    const requestId = backgroundRequestId('check');
    await mapWithLimit(handles, CHECK_CONCURRENCY, async (handle) => {
      if (signal.aborted) return;
      try {
        await this.check(handle, { client: 'daemon', requestId, signal });
      } catch (error) {
        this.dependencies.log.info('health check failed', { server: handle, error: describeError(error) });
      }
    });
  }
}

function backgroundRequestId(kind: string): string {
  return `daemon-${kind}-${crypto.randomBytes(4).toString('hex')}`;
}
