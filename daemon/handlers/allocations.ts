import { AllocationsAllocate, AllocationsList, AllocationsRelease } from '../protocol/allocations.js';
import type { Router } from '../server/router.js';
import { asStored, cutPage, decodeCursor } from './paging.js';
import type { Services } from '../wiring/services.js';

/** Registers `allocations/allocate`, `allocations/list` and `allocations/release`. */
export function registerAllocationHandlers(router: Router, services: Services): void {
  const { allocator } = services;
  router.handle(AllocationsAllocate, async (params, context) => {
    const result = await allocator.allocate(params);
    if (result.created.length > 0) context.log.info('allocated', { project: params.project, server: result.server, modules: result.created });
    return result;
  });
  router.handle(AllocationsList, async (params) => {
    const after = decodeCursor(params.cursor, ['string', 'string']) as readonly [string, string] | undefined;
    const rows = await allocator.listPage({ project: params.project, after, limit: params.limit + 1 });
    const { rows: allocations, nextCursor } = await cutPage(rows, { limit: params.limit, toRow: asStored, keyOf: (allocation) => [allocation.project, allocation.module] });
    return { allocations, ...(nextCursor ? { nextCursor } : {}) };
  });
  router.handle(AllocationsRelease, async (params, context) => {
    const released = await allocator.release(params.project, params.module);
    context.log.info('allocations released', { project: params.project, count: released.length });
    return { released };
  });
}
