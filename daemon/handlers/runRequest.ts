import type { DeployService } from '../deploy/service.js';
import type { RunDetail } from '../protocol/runs.js';
import type { RequestContext } from '../server/router.js';

/**
 * The shape every run-starting request shares (`deploy/start`, `deploy/rollback`): start the run for the caller and
 * answer at once, or, with `wait`, follow it (its log comes as `runs/log` notifications from the first line) and answer
 * with its final state; cancelling the request cancels the run.
 */
export async function startOrWait(
  deploy: DeployService,
  context: RequestContext,
  wait: boolean,
  start: (caller: { client: string; requestId: string }, follow: { connectionId: number } | undefined) => Promise<RunDetail>,
): Promise<RunDetail> {
  const caller = { client: context.client.name, requestId: context.requestId };
  const run = await start(caller, wait ? { connectionId: context.client.connectionId } : undefined);
  if (!wait) return run;
  const controller = new AbortController();
  const subscription = context.cancellation.onCancellationRequested(() => controller.abort());
  if (context.cancellation.isCancellationRequested) controller.abort();
  try {
    return await deploy.waitFor(run.id, controller.signal);
  } finally {
    subscription.dispose();
  }
}
