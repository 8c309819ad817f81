import type { AuditLog } from '../audit/auditLog.js';
import { sshTargetOf } from '../inventory/health.js';
import { readServer } from '../inventory/records.js';
import type { InventoryService } from '../inventory/service.js';
import { DaemonAgent } from '../terminal/agent.js';
import { SshHandoff, handoffPaths } from '../terminal/handoff.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/**
 * Builds the hand-off of servers to the user's SSH client; Zavhoz's own agent (if it started) ends at shutdown. A
 * removed server's alias, pinned host key and agent key go with it, also for removals this daemon did not see (at start).
 */
export function wireHandoff(foundation: Foundation, needs: { readonly inventory: InventoryService; readonly vault: Vault; readonly audit: AuditLog }): SshHandoff {
  const { inventory, vault, audit } = needs;
  const where = handoffPaths(foundation.paths.folder);
  const agent = new DaemonAgent(where.agentSocket);
  foundation.lifecycle.onShutdown(() => agent.stop());
  const handoff = new SshHandoff({
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
  inventory.afterRemove(async (server) => {
    await handoff.forget(server);
  });
  const log = foundation.log.child({ component: 'handoff' });
  void handoff
    .prune(async (server) => (await readServer(foundation.store, server)) !== undefined)
    .then((forgotten) => {
      if (forgotten.length > 0) log.info('hand-offs of servers no longer in the inventory forgotten', { servers: forgotten });
    })
    .catch((error: unknown) => log.warn('hand-offs of removed servers could not be pruned', { error: error instanceof Error ? error.message : String(error) }));
  return handoff;
}
