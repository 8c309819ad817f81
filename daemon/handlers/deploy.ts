import { EnvPlanRequest } from '../protocol/env.js';
import { DeployStart, RunsCancel, RunsGet, RunsList, RunsLog, type RunSummary } from '../protocol/runs.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { deployGate } from '../approvals/requests.js';
import { cutPage, decodeCursor, PAGE_BYTES } from './paging.js';
import { startOrWait } from './runRequest.js';

/** A run with the https URL of each of its modules that has a domain, so every view opens that one. */
function withDomainUrls<T extends RunSummary>(services: Services, run: T): T {
  if (!run.allocation) return run;
  const domainUrls = services.domains.urlsOf(run.project);
  return Object.keys(domainUrls).length === 0 ? run : { ...run, allocation: { ...run.allocation, domainUrls } };
}

/** Registers `env/plan`, `deploy/start` and `runs/*`. */
export function registerDeployHandlers(router: Router, services: Services): void {
  const deploy = services.deploy;
  router.handle(EnvPlanRequest, (params) => deploy.plan(params.folder, params.project, params.bindings));
  router.handle(DeployStart, async (params, context) => {
    const { wait, confirmed, ...request } = params;
    services.approvals.gate(deployGate(request), { client: context.client.name, requestId: context.requestId }, confirmed);
    return withDomainUrls(services, await startOrWait(deploy, context, wait, (caller, follow) => deploy.start(request, caller, follow)));
  });
  router.handle(RunsList, (params) => {
    const before = decodeCursor(params.cursor, ['string'])?.[0] as string | undefined;
    const { rows: runs, nextCursor } = cutPage(deploy.list(params.project, params.limit + 1, before), params.limit, (run) => [run.id]);
    return { runs: runs.map((run) => withDomainUrls(services, run)), ...(nextCursor ? { nextCursor } : {}) };
  });
  router.handle(RunsGet, (params) => withDomainUrls(services, deploy.get(params.id)));
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
