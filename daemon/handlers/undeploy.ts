import { ZavhozError } from '../core/errors.js';
import { undeployGate } from '../approvals/requests.js';
import { ErrorCodes } from '../protocol/errors.js';
import { UndeployCancel, UndeployStart } from '../protocol/undeploy.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `undeploy/start` and `undeploy/cancel`. */
export function registerUndeployHandlers(router: Router, services: Services): void {
  const { undeploy } = services;
  router.handle(UndeployStart, async (params, context) => {
    await services.approvals.gate(undeployGate(params), { client: context.client.name, requestId: context.requestId }, params.confirmed);
    const { state, done } = await undeploy.start(params.project, params.keepData, { client: context.client.name, requestId: context.requestId });
    context.log.info('undeploy started', { project: params.project, server: state.server, keepData: params.keepData });
    if (!params.wait) return state;
    // A waiting caller cancels the undeploy by cancelling its request.
    const subscription = context.cancellation.onCancellationRequested(() => void undeploy.cancel(params.project).catch(() => undefined));
    try {
      const result = await done;
      if (context.cancellation.isCancellationRequested) throw new ZavhozError(ErrorCodes.RequestCancelled, result.error ?? 'The undeploy was cancelled.');
      return result;
    } finally {
      subscription.dispose();
    }
  });
  router.handle(UndeployCancel, async (params, context) => {
    const result = await undeploy.cancel(params.project);
    context.log.info('undeploy cancelled', { project: params.project });
    return result;
  });
}
