import type { AuditLog } from '../audit/auditLog.js';
import type { CiKeyService } from '../cikey/service.js';
import type { Allocator } from '../allocation/allocator.js';
import type { DeployService } from '../deploy/service.js';
import { pushSecretsAfterDeploy } from '../github/afterDeploy.js';
import { connectionFromSettings } from '../github/auth.js';
import { inventoryTargets } from '../github/deploySecrets.js';
import { GithubService } from '../github/service.js';
import type { InventoryService } from '../inventory/service.js';
import type { SettingsService } from '../settings/settings.js';
import type { SecretReader } from '../vault/api.js';
import type { Foundation } from './services.js';

/** What the GitHub service is built from, besides the foundation. */
export interface GithubNeeds {
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  readonly vault: SecretReader;
  readonly inventory: InventoryService;
  readonly allocator: Allocator;
  readonly deploy: DeployService;
  readonly ciKeys: CiKeyService;
}

/**
 * Builds the daemon's GitHub service: settings for credentials, the inventory and allocations for deploy targets.
 * After every successful deploy, CI gets what it needs to redeploy on push (issue 6).
 */
export function wireGithub(foundation: Foundation, needs: GithubNeeds): GithubService {
  const { inventory, allocator, settings } = needs;
  const github = new GithubService({
    store: foundation.store,
    audit: needs.audit,
    vault: needs.vault,
    redactor: foundation.redactor,
    notifier: foundation.server,
    log: foundation.logger.child({ component: 'github' }),
    connection: () => connectionFromSettings(settings.all()),
    targets: inventoryTargets({
      allocations: (project) => allocator.list(project),
      server: (handle) => inventory.inventory.show(handle),
    }),
    credentials: needs.ciKeys,
  });
  needs.deploy.afterSuccess((run, note) => pushSecretsAfterDeploy(github, settings.all(), run, note));
  return github;
}
