import { ApprovalsList, RunsApprove, RunsReject } from '../protocol/approvals.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `approvals/list`, `runs/approve` and `runs/reject`. */
export function registerApprovalHandlers(router: Router, services: Services): void {
  router.handle(ApprovalsList, async (params) => ({ approvals: await services.approvals.list(params.all) }));
  router.handle(RunsApprove, async (params, context) => {
    const result = await services.approvals.approve(params.id, { client: context.client.name, requestId: context.requestId });
    context.log.info('approval approved', { approval: params.id, run: result.runId });
    return result;
  });
  router.handle(RunsReject, (params, context) => {
    const result = services.approvals.reject(params.id, { client: context.client.name, requestId: context.requestId });
    context.log.info('approval rejected', { approval: params.id });
    return result;
  });
}
