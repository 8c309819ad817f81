import type { AuditLog } from '../audit/auditLog.js';
import type { SecretBackend } from '../vault/backend.js';
import { vaultConfigFromEnvironment } from '../vault/config.js';
import { SecretLocations } from '../vault/hashicorp/locations.js';
import { RoutedBackend } from '../vault/hashicorp/routing.js';
import { TeamVault } from '../vault/hashicorp/team.js';
import { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/**
 * Builds the secrets vault over the backend the environment chooses (keychain by default), with team secrets
 * routed to the team's HashiCorp Vault once one is connected; it stops at shutdown.
 */
export function wireVault(foundation: Foundation, needs: { readonly audit: AuditLog }): { vault: Vault; teamVault: TeamVault } {
  const { store, redactor, server, logger, paths, lifecycle } = foundation;
  const log = logger.child({ component: 'vault' });
  const { openBackend, teamByDefault, ...config } = vaultConfigFromEnvironment(paths.folder, redactor, foundation.environment);
  let personal: Promise<SecretBackend> | undefined;
  const openPersonal = (): Promise<SecretBackend> => (personal ??= openBackend());
  const locations = new SecretLocations(store);
  const teamVault = new TeamVault({ locations, redactor, log: log.child({ team: 'hashicorp' }), openPersonal, teamByDefault: teamByDefault ?? false });
  const vault = new Vault({
    store,
    audit: needs.audit,
    redactor,
    notifier: server,
    log,
    ...config,
    openBackend: async () => {
      const swept = await locations.sweep();
      if (swept > 0) log.info('forgot the locations of deleted team secrets', { secrets: swept });
      return new RoutedBackend(await openPersonal(), teamVault, locations, log.child({ team: 'hashicorp' }));
    },
    placement: teamVault,
  });
  lifecycle.onShutdown(() => vault.stop());
  return { vault, teamVault };
}
