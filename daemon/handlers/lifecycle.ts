import type { LogLevel } from '../core/logger.js';
import { DaemonLogSubscribe, DaemonPing, DaemonShutdown, DaemonStatus, type DaemonStatusResult } from '../protocol/lifecycle.js';
import type { Router } from '../server/router.js';
import type { Lifecycle } from '../wiring/services.js';

/** What the lifecycle handlers need from the daemon around them. */
export interface DaemonControl {
  status(): DaemonStatusResult;
  subscribeLog(connectionId: number, level: LogLevel): void;
}

/** Registers `daemon/status`, `daemon/ping` and `daemon/shutdown`. */
export function registerLifecycleHandlers(router: Router, control: DaemonControl, lifecycle: Lifecycle): void {
  router.handle(DaemonStatus, () => control.status());
  router.handle(DaemonLogSubscribe, (params, context) => {
    control.subscribeLog(context.client.connectionId, params.level);
    return { subscribed: true as const };
  });
  router.handle(DaemonPing, (params) => (params.payload === undefined ? {} : { payload: params.payload }));
  router.handle(DaemonShutdown, (_params, context) => {
    context.log.info('shutdown requested');
    // Answer first: vscode-jsonrpc writes the reply asynchronously, so start the shutdown a moment later.
    setTimeout(() => lifecycle.requestShutdown(`requested by ${context.client.name}`), 25);
    return { stopping: true as const };
  });
}
