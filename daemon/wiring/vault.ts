import type { AuditLog } from '../audit/auditLog.js';
import { vaultConfigFromEnvironment } from '../vault/config.js';
import { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** Builds the secrets vault over the backend the environment chooses (keychain by default); it stops at shutdown. */
export function wireVault(foundation: Foundation, needs: { readonly audit: AuditLog }): Vault {
  const { store, redactor, server, logger, paths, lifecycle } = foundation;
  const vault = new Vault({
    store,
    audit: needs.audit,
    redactor,
    notifier: server,
    log: logger.child({ component: 'vault' }),
    ...vaultConfigFromEnvironment(paths.folder, redactor, foundation.environment),
  });
  lifecycle.onShutdown(() => vault.stop());
  return vault;
}
