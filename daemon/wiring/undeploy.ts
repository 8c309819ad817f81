import type { AuditLog } from '../audit/auditLog.js';
import type { Allocator } from '../allocation/allocator.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { Releases } from '../deploy/releases.js';
import type { GithubService } from '../github/service.js';
import type { InventoryService } from '../inventory/service.js';
import type { UndeployTargets } from '../undeploy/ports.js';
import { UndeployService } from '../undeploy/service.js';
import type { Foundation } from './services.js';

/** What the undeploy service is built from, besides the foundation. */
export interface UndeployNeeds {
  readonly audit: AuditLog;
  readonly inventory: InventoryService;
  readonly allocator: Allocator;
  readonly github: GithubService;
  readonly locks: ProjectLocks;
  /** The release store: an undeploy archives the project's releases. */
  readonly releases: Pick<Releases, 'archive'>;
}

/**
 * Builds the undeploy service over the allocator (where a project lives, released at the end), the inventory's SSH
 * and the GitHub service (the CI secrets pushed for the project). Running undeploys are cancelled at shutdown.
 * After an undeploy the project's releases are archived (its `afterUndeploy` hook).
 */
export function wireUndeploy(foundation: Foundation, needs: UndeployNeeds): UndeployService {
  const { allocator, inventory, github } = needs;
  const undeploy = new UndeployService({
    targets: undeployTargetsFrom(allocator, inventory),
    ciSecrets: (project, caller) => github.removeProjectSecrets(project, caller),
    locks: needs.locks,
    audit: needs.audit,
    notifier: foundation.server,
    redactor: foundation.redactor,
    log: foundation.logger.child({ component: 'undeploy' }),
  });
  // Its hooks' notes are warnings: a successful archive says nothing (the releases list shows it), a failure does.
  undeploy.afterUndeploy(async (result) => {
    await needs.releases.archive(result.project);
  });
  foundation.lifecycle.onShutdown(() => undeploy.shutdown());
  return undeploy;
}

/** The allocator and the inventory's SSH as the undeploy sees them. */
export function undeployTargetsFrom(allocator: Allocator, inventory: InventoryService): UndeployTargets {
  return {
    async targetOf(project) {
      const allocations = await allocator.list(project);
      const first = allocations[0];
      if (!first) return undefined;
      return { server: first.server, modules: allocations.map((allocation) => allocation.module), ports: allocations.map((allocation) => allocation.port) };
    },
    openShell: (server, use, signal) => inventory.openSsh(server, use, { signal }),
    release: async (project) => (await allocator.release(project)).map((allocation) => allocation.module),
  };
}
