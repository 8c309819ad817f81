import { RotationRun } from '../protocol/rotation.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `rotation/run`. */
export function registerRotationHandlers(router: Router, services: Services): void {
  router.handle(RotationRun, async (params, context) => {
    const result = await services.rotation.run(params.dryRun);
    context.log.info('rotation run', { dryRun: params.dryRun, rotated: result.rotated.length, reported: result.reported.length, redeploys: result.redeploys.length });
    return result;
  });
}
