import { DeployPlanRequest } from '../protocol/deploy.js';
import { EnvPlanRequest } from '../protocol/env.js';
import { DeployStart, type RunDetail, RunsCancel, RunsGet, RunsList, RunsLog, type RunSummary } from '../protocol/runs.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { deployGate } from '../approvals/requests.js';
import { cutPage, decodeCursor, PAGE_BYTES } from './paging.js';
import { startOrWait } from './runRequest.js';

/** A list row of a run: its detail without steps, plan and folder. */
function summaryOf(run: RunDetail): RunSummary {
  const { steps: _steps, plan: _plan, folder: _folder, timeoutSeconds: _timeout, attempts: _attempts, ...summary } = run;
  return summary;
}

/** A run with the https URL of each of its modules that has a domain, so every view opens that one. */
async function withDomainUrls<T extends RunSummary>(services: Services, run: T): Promise<T> {
  if (!run.allocation) return run;
  const domainUrls = await services.domains.urlsOf(run.project);
  return Object.keys(domainUrls).length === 0 ? run : { ...run, allocation: { ...run.allocation, domainUrls } };
}

/** Registers `env/plan`, `deploy/plan`, `deploy/start` and `runs/*`. */
export function registerDeployHandlers(router: Router, services: Services): void {
  const deploy = services.deploy;
  router.handle(EnvPlanRequest, (params) => deploy.plan(params.folder, params.project, params.bindings));
  router.handle(DeployPlanRequest, (params) => deploy.planModules(params.folder, params.project));
  router.handle(DeployStart, async (params, context) => {
    const { wait, confirmed, ...request } = params;
    await services.approvals.gate(deployGate(request), { client: context.client.name, requestId: context.requestId }, confirmed);
    return withDomainUrls(services, await startOrWait(deploy, context, wait, (caller, follow) => deploy.start(request, caller, follow)));
  });
  router.handle(RunsList, async (params) => {
    const before = decodeCursor(params.cursor, ['string'])?.[0] as string | undefined;
    const listed = await deploy.list(params.project, params.limit + 1, before);
    // Runs that wait for approval lead the first page: they are what a person has to act on. They count in its size.
    const lead = before === undefined ? (await services.approvals.waitingRuns(params.project)).map(summaryOf) : [];
    const { rows: runs, nextCursor } = await cutPage(listed, { limit: params.limit, toRow: (run) => withDomainUrls(services, run), keyOf: (run) => [run.id], lead });
    return { runs, ...(nextCursor ? { nextCursor } : {}) };
  });
  router.handle(RunsGet, async (params) => {
    if (!params.id.startsWith('apr_')) return withDomainUrls(services, await deploy.get(params.id));
    const found = await services.approvals.asRun(params.id);
    return 'run' in found ? found.run : withDomainUrls(services, await deploy.get(found.runId));
  });
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
