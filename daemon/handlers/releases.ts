import { toReleaseDetail, toReleaseSummary } from '../deploy/releaseStore.js';
import { DeployRollback, ReleasesGet, ReleasesList } from '../protocol/releases.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { rollbackGate } from '../approvals/requests.js';
import { cutPage, decodeCursor } from './paging.js';
import { startOrWait } from './runRequest.js';

/** Registers `releases/*` and `deploy/rollback`. */
export function registerReleaseHandlers(router: Router, services: Services): void {
  const deploy = services.deploy;
  router.handle(ReleasesList, async (params) => {
    const before = decodeCursor(params.cursor, ['number'])?.[0] as number | undefined;
    const rows = await deploy.releases.list(params.project, params.limit + 1, before, params.archived);
    const { rows: releases, nextCursor } = await cutPage(rows, { limit: params.limit, toRow: toReleaseSummary, keyOf: (release) => [release.number] });
    return { releases, ...(nextCursor ? { nextCursor } : {}) };
  });
  router.handle(ReleasesGet, async (params) => toReleaseDetail(await deploy.releases.get(params.id)));
  router.handle(DeployRollback, async (params, context) => {
    const { wait, confirmed, ...request } = params;
    await services.approvals.gate(rollbackGate(request), { client: context.client.name, requestId: context.requestId }, confirmed);
    return startOrWait(deploy, context, wait, (caller, follow) => deploy.rollback(request, caller, follow));
  });
}
