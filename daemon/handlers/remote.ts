import { RemoteHandoff } from '../protocol/remote.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { signalOf } from './servers.js';

/** Registers `remote/handoff`: a managed server handed to the user's own SSH client (daemon/terminal/handoff.ts). */
export function registerRemoteHandlers(router: Router, services: Services): void {
  router.handle(RemoteHandoff, (params, context) =>
    services.handoff.handoff(
      params,
      { client: context.client.name, requestId: context.requestId, action: 'ssh-handoff', detail: { server: params.server } },
      signalOf(context.cancellation),
    ),
  );
}
