import { Allocator } from '../allocation/allocator.js';
import type { AuditLog } from '../audit/auditLog.js';
import { InventoryService } from '../inventory/service.js';
import type { SettingsService } from '../settings/settings.js';
import type { SecretReader } from '../vault/api.js';
import type { Foundation } from './services.js';

/** What the inventory and the allocator are built from, besides the foundation. */
export interface InventoryNeeds {
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  readonly vault: SecretReader;
}

/**
 * Builds the allocation ledger and the inventory. The allocator reads the inventory's servers; the inventory releases
 * a server's allocations when it is removed or ghosted, through the `ServerAllocations` port it declares, so neither
 * folder builds the other.
 */
export function wireInventory(foundation: Foundation, needs: InventoryNeeds): { inventory: InventoryService; allocator: Allocator } {
  const { store, server, logger, lifecycle } = foundation;
  const allocator = new Allocator(store, server);
  const inventory = new InventoryService({
    store,
    settings: needs.settings,
    notifier: server,
    secrets: needs.vault,
    audit: needs.audit,
    allocations: allocator,
    log: logger.child({ component: 'inventory' }),
  });
  lifecycle.onShutdown(() => inventory.stop());
  return { inventory, allocator };
}
