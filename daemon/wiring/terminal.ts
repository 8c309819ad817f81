import type { InventoryService } from '../inventory/service.js';
import { type ShellHost, ShellSessions } from '../terminal/sessions.js';
import type { Foundation } from './services.js';

/** Builds the table of interactive SSH shells over the inventory's SSH; every shell ends at shutdown. */
export function wireTerminal(foundation: Foundation, needs: { readonly inventory: InventoryService }): ShellSessions {
  const { inventory } = needs;
  const host: ShellHost = {
    openSsh: (handle, use, options) => inventory.openSsh(handle, use, options?.signal ? { signal: options.signal } : {}),
    describe: async (handle) => {
      const server = await inventory.inventory.show(handle);
      return { host: server.host, user: server.sshUser };
    },
  };
  const shells = new ShellSessions(host, foundation.log.child({ component: 'shell' }));
  foundation.lifecycle.onShutdown(() => shells.closeAll());
  return shells;
}
