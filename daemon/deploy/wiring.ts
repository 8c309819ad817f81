/**
 * Adapters from the inventory, the allocator and the vault to the narrow ports the deploy pipeline uses
 * (see ports.ts). `daemon.ts` builds the deploy service with these.
 */
import { ZavhozError } from '../core/errors.js';
import type { Allocator } from '../allocation/allocator.js';
import type { Inventory } from '../inventory/inventory.js';
import { DEFAULT_MIN_DISK_MB, DEFAULT_MIN_RAM_MB, DEFAULT_MODULE } from '../protocol/allocations.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Vault } from '../vault/vault.js';
import type { DeploySecrets, DeployTarget, DeployTargets } from './ports.js';

/** Where a project deploys: its allocation (made now if it has none) on an inventory server. */
export function deployTargetsFrom(inventory: Inventory, allocator: Allocator, vault: Pick<Vault, 'has' | 'get'>): DeployTargets {
  return {
    modulesOf: (project) => allocator.list(project).map((allocation) => allocation.module),
    targetFor(project): DeployTarget {
      const allocated = allocator.allocate({ project, minRamMb: DEFAULT_MIN_RAM_MB, minDiskMb: DEFAULT_MIN_DISK_MB });
      const server = inventory.row(allocated.server);
      const modulePorts: Record<string, number> = {};
      for (const allocation of allocated.allocations) modulePorts[allocation.module] = allocation.port;
      const port = modulePorts[DEFAULT_MODULE] ?? allocated.allocations[0]?.port;
      if (port === undefined) {
        throw new ZavhozError(ErrorCodes.PreconditionFailed, `Project ${project} has no allocated port. Run: zavhoz allocate ${project}`);
      }
      const key = server.ssh_key_secret;
      if (!key || !vault.has(key)) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Server ${server.handle} has no SSH key in the vault. Store one with \`zavhoz secret set NAME --type private_key < keyfile\` and set it with \`zavhoz server update ${server.handle} --ssh-key-secret HANDLE\`.`,
        );
      }
      if (vault.get(key).hasPassphrase) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `The SSH key ${key} of server ${server.handle} has a passphrase; deploys run unattended and need a key without one. Store a deploy key without a passphrase and set it with \`zavhoz server update ${server.handle} --ssh-key-secret HANDLE\`.`,
        );
      }
      return {
        server: server.handle,
        host: server.host,
        sshPort: Number(server.ssh_port),
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
  const handleFor = (project: string, name: string): string | undefined => {
    const candidates = vault.list({ project }).filter((secret) => secret.name === name);
    return (candidates.find((secret) => secret.project === project) ?? candidates[0])?.handle;
  };
  return {
    withValue: (handle, use, work) => vault.withValue(handle, use, work),
    has: (handle) => vault.has(handle),
    fingerprint: (value) => vault.fingerprint(value),
    handleFor,
    async ensureGenerated(project, name, use) {
      const existing = handleFor(project, name);
      if (existing) return existing;
      const created = await vault.generate(
        { name, project, type: /PASSWORD$/.test(name) ? 'password' : 'token', category: 'other', tags: ['infra'] },
        { client: use.client, requestId: use.requestId },
      );
      return created.handle;
    },
    confirmDeployed: (handles) => vault.confirmDeployed(handles),
  };
}
