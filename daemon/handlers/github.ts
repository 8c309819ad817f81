import type { GithubCaller } from '../github/service.js';
import { writeDeployWorkflow } from '../github/workflow.js';
import { GithubPushSecrets, GithubSetSecret, GithubStatus, GithubWorkflow } from '../protocol/github.js';
import type { RequestContext, Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** The caller of a request as the GitHub service needs it; a cancelled request aborts its GitHub calls. */
function callerOf(context: RequestContext): GithubCaller {
  const controller = new AbortController();
  context.cancellation.onCancellationRequested(() => controller.abort());
  return { client: context.client.name, requestId: context.requestId, log: context.log, signal: controller.signal };
}

/** Registers `github/setSecret`, `github/pushSecrets`, `github/status` and `github/workflow`. */
export function registerGithubHandlers(router: Router, services: Services): void {
  const { github } = services;
  router.handle(GithubSetSecret, (params, context) =>
    github.setSecret({ repo: params.repo, name: params.name, handle: params.handle, environment: params.environment, use: callerOf(context) }),
  );
  router.handle(GithubPushSecrets, (params, context) =>
    github.pushDeploySecrets({ repo: params.repo, project: params.project, environment: params.environment, rotateKey: params.rotateKey, use: callerOf(context) }),
  );
  router.handle(GithubStatus, (params, context) => github.status({ repo: params.repo, environment: params.environment, use: callerOf(context) }));
  router.handle(GithubWorkflow, (params) => writeDeployWorkflow(params.project, params.folder, params.force));
}
