/**
 * The deploy service, and the adapters from the inventory, the allocator and the vault to the narrow ports the
 * deploy pipeline uses (deploy/ports.ts).
 */
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError } from '../core/errors.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { Allocator } from '../allocation/allocator.js';
import type { DeploySecrets, DeployTarget, DeployTargets, ProxySwitch } from '../deploy/ports.js';
import { catalogOf } from '../deploy/envPlan.js';
import { DeployService } from '../deploy/service.js';
import type { Inventory } from '../inventory/inventory.js';
import type { InventoryService } from '../inventory/service.js';
import { DEFAULT_MIN_DISK_MB, DEFAULT_MIN_RAM_MB, DEFAULT_MODULE } from '../protocol/allocations.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SettingsService } from '../settings/settings.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** What the deploy service is built from, besides the foundation. */
export interface DeployNeeds {
  readonly audit: AuditLog;
  readonly vault: Vault;
  readonly inventory: InventoryService;
  readonly allocator: Allocator;
  readonly locks: ProjectLocks;
  readonly settings: SettingsService;
  /**
   * The domains' proxy switchover, joined after the domains are built (they are built from the deploy's releases):
   * `of` stays unset until then.
   */
  readonly proxySwitches?: { of?: (project: string, server: string) => Promise<ProxySwitch | undefined> };
}

/**
 * Builds the deploy service and settles what a crash left behind: runs left `running` become `interrupted`, and their
 * secret files go, before any client can look. At shutdown running playbooks are killed (runs end `interrupted`).
 */
export async function wireDeploy(foundation: Foundation, needs: DeployNeeds): Promise<DeployService> {
  const { store, paths, redactor, logger, log, server, lifecycle } = foundation;
  const deploy = new DeployService({
    store,
    runsFolder: paths.runs,
    redactor,
    log: logger.child({ component: 'deploy' }),
    notifier: server,
    connections: server,
    audit: needs.audit,
    secrets: deploySecretsFrom(needs.vault),
    targets: { ...deployTargetsFrom(needs.inventory.inventory, needs.allocator, needs.vault), proxySwitchOf: async (project, server) => needs.proxySwitches?.of?.(project, server) },
    locks: needs.locks,
    releasesKept: () => needs.settings.get('releasesKept'),
  });
  lifecycle.onShutdown(() => deploy.shutdown());
  try {
    await deploy.recover();
  } catch (error) {
    log.error('deploy run recovery failed', { error: (error as Error).message });
  }
  return deploy;
}

/** Where a project deploys: its allocation (made now if it has none) on an inventory server. */
export function deployTargetsFrom(inventory: Inventory, allocator: Allocator, vault: Pick<Vault, 'has' | 'get'>): DeployTargets {
  return {
    modulesOf: async (project) => (await allocator.list(project)).map((allocation) => allocation.module),
    allocationsOf: async (project) => (await allocator.list(project)).map(({ module, server, port }) => ({ module, server, port })),
    async releaseModule(project, module) {
      try {
        const [released] = await allocator.release(project, module);
        return released ? { module: released.module, server: released.server, port: released.port } : undefined;
      } catch (error) {
        if (error instanceof ZavhozError && error.code === ErrorCodes.NotFound) return undefined;
        throw error;
      }
    },
    async targetFor(project, modules): Promise<DeployTarget> {
      const allocated = await allocator.allocate({ project, ...(modules?.length ? { modules: [...modules] } : {}), minRamMb: DEFAULT_MIN_RAM_MB, minDiskMb: DEFAULT_MIN_DISK_MB });
      const server = await inventory.row(allocated.server);
      const modulePorts: Record<string, number> = {};
      for (const allocation of allocated.allocations) modulePorts[allocation.module] = allocation.port;
      const port = modulePorts[DEFAULT_MODULE] ?? allocated.allocations[0]?.port;
      if (port === undefined) {
        throw new ZavhozError(ErrorCodes.PreconditionFailed, `Project ${project} has no allocated port. Run: zavhoz allocate ${project}`);
      }
      const key = server.ssh_key_secret;
      if (!key || !(await vault.has(key))) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Server ${server.handle} has no SSH key in the vault. Store one with \`zavhoz secret set NAME --type private_key < keyfile\` and set it with \`zavhoz server update ${server.handle} --ssh-key-secret HANDLE\`.`,
        );
      }
      if ((await vault.get(key)).hasPassphrase) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `The SSH key ${key} of server ${server.handle} has a passphrase; deploys run unattended and need a key without one. Store a deploy key without a passphrase and set it with \`zavhoz server update ${server.handle} --ssh-key-secret HANDLE\`.`,
        );
      }
      return {
        server: server.handle,
        host: server.host,
        sshPort: server.ssh_port,
        sshUser: server.ssh_user,
        sshKeySecret: key,
        hostKeyFingerprint: server.host_key_fingerprint,
        port,
        modulePorts,
      };
    },
  };
}

/** The vault as the pipeline sees it: project secrets found by name, infra secrets generated on first deploy. */
export function deploySecretsFrom(vault: Vault): DeploySecrets {
  return {
    withValue: (handle, use, work) => vault.withValue(handle, use, work),
    has: (handle) => vault.has(handle),
    fingerprint: (value) => vault.fingerprint(value),
    catalog: async () => catalogOf(await vault.list()),
    async ensureGenerated(project, name, use) {
      const existing = catalogOf(await vault.list({ project })).handleFor(project, name);
      if (existing) return existing;
      const created = await vault.generate(
        { name, project, type: /PASSWORD$/.test(name) ? 'password' : 'token', category: 'other', tags: ['infra'] },
        { client: use.client, requestId: use.requestId },
      );
      return created.handle;
    },
    confirmDeployed: (handles) => vault.confirmDeployed(handles),
    async expiresAt(handle) {
      if (!(await vault.has(handle))) return null;
      const { expiresAt, updatedAt } = await vault.get(handle);
      return expiresAt !== null && Date.parse(updatedAt) < Date.parse(expiresAt) ? expiresAt : null;
    },
    currentVersions: (handles) => vault.currentVersions(handles),
    withVersion: (ref, use, work) => vault.withVersion(ref, use, work),
    retain: (holder, refs) => vault.retain(holder, refs),
    releaseHolder: (holder) => vault.releaseHolder(holder),
  };
}
