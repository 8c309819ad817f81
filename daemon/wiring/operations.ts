/** Day-2 operations of deployed projects, over the allocator (where each project lives) and the inventory's SSH. */
import type { AuditLog } from '../audit/auditLog.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { Allocator } from '../allocation/allocator.js';
import type { InventoryService } from '../inventory/service.js';
import type { OperationsHost, Placement } from '../operations/ports.js';
import { OperationsService } from '../operations/service.js';
import type { Releases } from '../deploy/releases.js';
import type { Foundation } from './services.js';

/** What the operations service is built from, besides the foundation. */
export interface OperationsNeeds {
  readonly audit: AuditLog;
  readonly inventory: InventoryService;
  readonly allocator: Allocator;
  readonly locks: ProjectLocks;
  /** The newest release of each project, for status. */
  readonly releases: Pick<Releases, 'current'>;
}

/** Builds the operations service (`services/*`). */
export function wireOperations(foundation: Foundation, needs: OperationsNeeds): OperationsService {
  const { server } = foundation;
  return new OperationsService({
    host: operationsHostFrom(needs.inventory, needs.allocator, needs.releases),
    redactor: foundation.redactor,
    log: foundation.logger.child({ component: 'operations' }),
    notifier: server,
    locks: needs.locks,
    audit: needs.audit,
    connections: {
      notifyConnection: (connectionId, definition, params) => server.notifyConnection(connectionId, definition, params),
      isConnected: (connectionId) => server.clients?.().some((client) => client.id === connectionId) ?? true,
    },
  });
}

/** Placements from the allocator's rows (one server per project) and the inventory's addresses. */
export function operationsHostFrom(inventory: InventoryService, allocator: Allocator, releases: Pick<Releases, 'current'>): OperationsHost {
  return {
    async placements(project) {
      const byProject = new Map<string, { server: string; modules: { module: string; port: number }[] }>();
      for (const allocation of await allocator.list(project)) {
        const entry = byProject.get(allocation.project) ?? { server: allocation.server, modules: [] };
        entry.modules.push({ module: allocation.module, port: allocation.port });
        byProject.set(allocation.project, entry);
      }
      const placements: Placement[] = [];
      for (const [name, entry] of byProject) {
        const newest = await releases.current(name);
        const release = newest ? { id: newest.id, number: newest.number, commit: newest.commit, createdAt: newest.createdAt } : null;
        try {
          const row = await inventory.inventory.row(entry.server);
          placements.push({ project: name, server: entry.server, host: row.host, modules: entry.modules, release });
        } catch {
          const problem = `Server ${entry.server} of ${name} is no longer in the inventory. Add it back (zavhoz server add), or release the project's allocation (zavhoz allocation release --project ${name}).`;
          placements.push({ project: name, server: entry.server, host: '', modules: entry.modules, problem, release });
        }
      }
      return placements;
    },
    openSsh: (server, use, signal) => inventory.openSsh(server, use, signal ? { signal } : {}),
  };
}
