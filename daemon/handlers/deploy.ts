import { EnvPlanRequest } from '../protocol/env.js';
import { DeployStart, RunsCancel, RunsGet, RunsList, RunsLog } from '../protocol/runs.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { deployGate } from '../approvals/requests.js';
import { cutPage, decodeCursor, PAGE_BYTES } from './paging.js';
import { startOrWait } from './runRequest.js';

/** Registers `env/plan`, `deploy/start` and `runs/*`. */
export function registerDeployHandlers(router: Router, services: Services): void {
  const deploy = services.deploy;
  router.handle(EnvPlanRequest, (params) => deploy.plan(params.folder, params.project, params.bindings));
  router.handle(DeployStart, async (params, context) => {
    const { wait, confirmed, ...request } = params;
    await services.approvals.gate(deployGate(request), { client: context.client.name, requestId: context.requestId }, confirmed);
    return startOrWait(deploy, context, wait, (caller, follow) => deploy.start(request, caller, follow));
  });
  router.handle(RunsList, async (params) => {
    const before = decodeCursor(params.cursor, ['string'])?.[0] as string | undefined;
    const { rows: runs, nextCursor } = cutPage(await deploy.list(params.project, params.limit + 1, before), params.limit, (run) => [run.id]);
    return { runs, ...(nextCursor ? { nextCursor } : {}) };
  });
  router.handle(RunsGet, (params) => deploy.get(params.id));
  router.handle(RunsLog, (params, context) =>
    deploy.log(
      params.id,
      { from: params.from, limit: params.limit, maxBytes: PAGE_BYTES },
      params.follow ? { connectionId: context.client.connectionId } : undefined,
    ),
  );
  router.handle(RunsCancel, async (params, context) => {
    const run = await deploy.cancel(params.id);
    context.log.info('deploy run cancelled', { run: params.id });
    return run;
  });
}
