import type { AuditLog } from '../audit/auditLog.js';
import { sshTargetOf } from '../inventory/health.js';
import type { InventoryService } from '../inventory/service.js';
import { DaemonAgent } from '../terminal/agent.js';
import { SshHandoff, handoffPaths } from '../terminal/handoff.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** Builds the hand-off of servers to the user's SSH client; Zavhoz's own agent (if it started) ends at shutdown. */
export function wireHandoff(foundation: Foundation, needs: { readonly inventory: InventoryService; readonly vault: Vault; readonly audit: AuditLog }): SshHandoff {
  const { inventory, vault, audit } = needs;
  const where = handoffPaths(foundation.paths.folder);
  const agent = new DaemonAgent(where.agentSocket);
  foundation.lifecycle.onShutdown(() => agent.stop());
  return new SshHandoff({
    host: {
      describe: async (handle) => {
        const target = sshTargetOf(await inventory.inventory.row(handle));
        return { host: target.host, port: target.port, user: target.user, keySecret: target.keySecret };
      },
      openSsh: (handle, use, options) => inventory.openSsh(handle, use, options?.signal ? { signal: options.signal } : {}),
    },
    secrets: vault,
    audit,
    log: foundation.log.child({ component: 'handoff' }),
    folder: where.folder,
    scratch: where.scratch,
    agent,
  });
}
