import type { AuditLog } from '../audit/auditLog.js';
import { sshTargetOf } from '../inventory/health.js';
import { readServer } from '../inventory/records.js';
import type { InventoryService } from '../inventory/service.js';
import { DaemonAgent } from '../terminal/agent.js';
import { type ServerStanding, SshHandoff, handoffPaths } from '../terminal/handoff.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** What the hand-off is built from, besides the foundation. */
export interface HandoffNeeds {
  readonly inventory: InventoryService;
  readonly vault: Vault;
  readonly audit: AuditLog;
  /**
   * Hears the handles of servers that changed, here (`servers/didChange`) and on a team's other daemons (their relayed
   * notices); an empty list when any may have changed (notices missed).
   */
  readonly serverChanges?: (listener: (handles: readonly string[]) => void) => void;
}

/**
 * Builds the hand-off of servers to the user's SSH client; Zavhoz's own agent (if it started) ends at shutdown. A
 * removed server's alias, pinned host key and agent key go with it, and so do a ghost's: at removal, whenever servers
 * change (a ghosting here, a removal or ghosting by a team member), and at start for what happened meanwhile. A server
 * whose address, port, user or key changes (`server update`) loses them too, until its next hand-off writes them anew.
 * A server a provider sync finds `missing` keeps its alias until it is removed: the pinned host key already refuses
 * whatever machine gets its address next, and a provider's passing glitch must not take a working alias away.
 */
export function wireHandoff(foundation: Foundation, needs: HandoffNeeds): SshHandoff {
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
    await handoff.forget(server, 'removed');
  });
  const log = foundation.log.child({ component: 'handoff' });
  const standing = async (server: string): Promise<ServerStanding> => {
    const row = await readServer(foundation.store, server);
    return row === undefined ? 'removed' : row.managed === 1 ? 'managed' : 'ghost';
  };
  const prune = (servers: readonly string[]): void =>
    void handoff
      .prune(standing, servers)
      .then((forgotten) => {
        if (forgotten.length > 0) log.info('hand-offs of servers removed, ghosted or changed forgotten', { servers: forgotten });
      })
      .catch((error: unknown) => log.warn('hand-offs of removed, ghost or changed servers could not be pruned', { error: error instanceof Error ? error.message : String(error) }));
  needs.serverChanges?.((handles) => prune(handles));
  prune([]);
  return handoff;
}
