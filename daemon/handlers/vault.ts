import { VaultConnect, VaultDisconnect, VaultStatus } from '../protocol/vault.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/**
 * Registers `vault/*`: the team's HashiCorp Vault. The credentials arrive in `vault/connect` params (the router never
 * logs params) and go to the member's keychain; no answer carries them.
 */
export function registerVaultHandlers(router: Router, services: Services): void {
  const { teamVault, audit } = services;
  router.handle(VaultConnect, async (params, context) => {
    const { auth, namespace, ...where } = params;
    const status = await teamVault.connect({ ...where, ...(namespace === undefined ? {} : { namespace }), auth });
    await audit.record({ client: context.client.name, requestId: context.requestId, action: 'vault-connect', subject: 'vault:hashicorp', detail: { address: params.address, mount: params.mount, prefix: params.prefix, auth: auth.kind } });
    return status;
  });
  router.handle(VaultStatus, () => teamVault.status());
  router.handle(VaultDisconnect, async (_params, context) => {
    const result = await teamVault.disconnect();
    await audit.record({ client: context.client.name, requestId: context.requestId, action: 'vault-disconnect', subject: 'vault:hashicorp', detail: { teamSecrets: result.teamSecrets } });
    return result;
  });
}
