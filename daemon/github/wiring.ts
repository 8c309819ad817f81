import type { AuditLog } from '../core/audit.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { Redactor } from '../core/redactor.js';
import type { InventoryService } from '../inventory/service.js';
import type { SettingsService } from '../settings/settings.js';
import type { Store } from '../store/store.js';
import type { SecretReader } from '../vault/api.js';
import { connectionFromSettings } from './auth.js';
import { inventoryTargets } from './deploySecrets.js';
import { GithubService } from './service.js';

/** What the daemon hands over to build the GitHub service. */
export interface GithubWiring {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly vault: SecretReader;
  readonly redactor: Redactor;
  readonly notifier: Notifier;
  readonly settings: SettingsService;
  readonly inventory: InventoryService;
  readonly log: ScopedLogger;
}

/** Builds the daemon's GitHub service: settings for credentials, the inventory and allocations for deploy targets. */
export function createGithubService(wiring: GithubWiring): GithubService {
  const { inventory } = wiring;
  return new GithubService({
    store: wiring.store,
    audit: wiring.audit,
    vault: wiring.vault,
    redactor: wiring.redactor,
    notifier: wiring.notifier,
    log: wiring.log,
    connection: () => connectionFromSettings(wiring.settings.all()),
    targets: inventoryTargets({
      allocations: (project) => inventory.allocator.list(project),
      server: (handle) => inventory.inventory.show(handle),
    }),
  });
}
