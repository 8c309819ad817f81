import { ShellClose, ShellOpen, ShellRead, ShellResize, ShellWrite } from '../protocol/shell.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

function abortSignal(token: { isCancellationRequested: boolean; onCancellationRequested(listener: () => void): unknown }): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

/** Registers `shell/*`: interactive SSH shells (daemon/terminal/) streamed to the connection that opened them. */
export function registerShellHandlers(router: Router, services: Services): void {
  const shells = services.terminal;
  router.handle(ShellOpen, (params, context) =>
    shells.open(
      params.server,
      { cols: params.cols, rows: params.rows },
      { client: context.client.name, requestId: context.requestId, action: 'ssh-terminal', detail: { server: params.server } },
      context.client.connectionId,
      abortSignal(context.cancellation),
    ),
  );
  router.handle(ShellRead, (params, context) => shells.read(params.session, context.client.connectionId, abortSignal(context.cancellation)));
  router.handle(ShellWrite, (params, context) => ({ written: shells.write(params.session, context.client.connectionId, params.data) }));
  router.handle(ShellResize, (params, context) => {
    shells.resize(params.session, context.client.connectionId, params.cols, params.rows);
    return { resized: true as const };
  });
  router.handle(ShellClose, (params, context) => {
    shells.closeOwned(params.session, context.client.connectionId);
    return { closed: true as const };
  });
}
