import type { Allocation } from '../../daemon/protocol/allocations.js';

/** A project of the Allocations view with its modules, sorted by name. */
export interface AllocationProject {
  readonly project: string;
  readonly modules: readonly Allocation[];
  /** Servers the project's modules are on. */
  readonly servers: readonly string[];
}

/** Groups allocations by project (sorted), modules sorted by name: the shape of the Allocations view. */
export function groupAllocations(allocations: readonly Allocation[]): AllocationProject[] {
  const byProject = new Map<string, Allocation[]>();
  for (const allocation of allocations) {
    const list = byProject.get(allocation.project) ?? [];
    list.push(allocation);
    byProject.set(allocation.project, list);
  }
  return [...byProject.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([project, modules]) => ({
      project,
      modules: modules.slice().sort((a, b) => a.module.localeCompare(b.module)),
      servers: [...new Set(modules.map((allocation) => allocation.server))].sort(),
    }));
}

/** `prod_vps_1:8000`: where a module lives. */
export function allocationAddress(allocation: Allocation): string {
  return `${allocation.server}:${allocation.port}`;
}

/** Plain words for an allocation's flags, or undefined when all is well. */
export function allocationWarning(allocation: Allocation): string | undefined {
  const words = allocation.flags.map((flag) =>
    flag === 'server-missing' ? 'the server is gone from its provider' : 'the server does not answer',
  );
  return words.length === 0 ? undefined : words.join('; ');
}
