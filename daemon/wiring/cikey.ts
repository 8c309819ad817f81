import type { AuditLog } from '../audit/auditLog.js';
import { describeError } from '../core/errors.js';
import { CiKeyService } from '../cikey/service.js';
import type { InventoryService } from '../inventory/service.js';
import type { SettingsService } from '../settings/settings.js';
import type { UndeployService } from '../undeploy/service.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** What the CI key service is built from, besides the foundation. */
export interface CiKeyNeeds {
  readonly audit: AuditLog;
  readonly vault: Vault;
  readonly inventory: InventoryService;
  readonly settings: SettingsService;
}

/**
 * Builds the CI key service (issue 16): scoped deploy users and keys on the servers, reached with the inventory's
 * SSH, keys kept in the vault. The GitHub service pushes them instead of the server's own key.
 */
export function wireCiKeys(foundation: Foundation, needs: CiKeyNeeds): CiKeyService {
  return new CiKeyService({
    vault: needs.vault,
    audit: needs.audit,
    log: foundation.logger.child({ component: 'cikey' }),
    rotationDays: () => needs.settings.get('ciKeyRotationDays'),
    openShell: (server, use, signal) => needs.inventory.openSsh(server, use, { signal }),
  });
}

/**
 * After an undeploy, the project's CI deploy user leaves its server and its key the vault (audited as
 * `ci-key-remove`); only a failure becomes a warning of the undeploy.
 */
export function removeCiKeysAfterUndeploy(ciKeys: CiKeyService, undeploy: UndeployService, foundation: Foundation): void {
  const log = foundation.logger.child({ component: 'cikey' });
  undeploy.afterUndeploy(async (result, note) => {
    if ((await ciKeys.current(result.project)) === undefined) return;
    try {
      const removed = await ciKeys.remove(result.project, result.server, { client: 'daemon', requestId: `undeploy-${result.project}` });
      log.info('CI deploy user removed after the undeploy', { project: result.project, server: result.server, user: removed.user, removedUser: removed.removedUser });
    } catch (error) {
      note(`The CI deploy user of ${result.project} could not be removed from ${result.server} (${describeError(error)}); run the undeploy again, or remove the user by hand.`);
    }
  });
}
