import { DaemonPing, DaemonShutdown, DaemonStatus, type DaemonStatusResult } from '../protocol/lifecycle.js';
import type { Router } from '../server/router.js';
import type { Lifecycle } from '../services.js';

/** What `daemon/status` reports beyond the clients list. */
export interface StatusSource {
  status(): DaemonStatusResult;
}

/** Registers `daemon/status`, `daemon/ping` and `daemon/shutdown`. */
export function registerLifecycleHandlers(router: Router, source: StatusSource, lifecycle: Lifecycle): void {
  router.handle(DaemonStatus, () => source.status());
  router.handle(DaemonPing, (params) => (params.payload === undefined ? {} : { payload: params.payload }));
  router.handle(DaemonShutdown, (_params, context) => {
    context.log.info('shutdown requested');
    // Answer first: vscode-jsonrpc writes the reply asynchronously, so start the shutdown a moment later.
    setTimeout(() => lifecycle.requestShutdown(`requested by ${context.client.name}`), 25);
    return { stopping: true as const };
  });
}
