import { resolveExecSecrets } from '../exec/resolve.js';
import { ExecResolve } from '../protocol/exec.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `exec/resolve`. Its result holds values: the router never logs results, and this logs names only. */
export function registerExecHandlers(router: Router, services: Services): void {
  router.handle(ExecResolve, async (params, context) => {
    const secrets = await resolveExecSecrets(services.vault, params, { client: context.client.name, requestId: context.requestId });
    context.log.info('exec secrets handed out', { handles: secrets.map((secret) => secret.handle), command: params.command[0] ?? '' });
    return { secrets };
  });
}
