import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { type ProjectStatus, ServicesControl, ServicesLogs, ServicesStatus } from '../protocol/services.js';
import type { RequestContext, Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** A project's status whose modules with a domain answer at `https://DOMAIN`: the URL every view opens. */
async function withDomainUrls(services: Services, project: ProjectStatus): Promise<ProjectStatus> {
  const urls = await services.domains.urlsOf(project.project);
  if (Object.keys(urls).length === 0) return project;
  return { ...project, services: project.services.map((service) => (service.module !== null && urls[service.module] ? { ...service, url: urls[service.module] ?? null } : service)) };
}

/** An AbortSignal that fires when the client cancels the request, with a `RequestCancelled` error as its reason. */
function cancelSignal(context: RequestContext): AbortSignal {
  const controller = new AbortController();
  const cancel = (): void => controller.abort(new ZavhozError(ErrorCodes.RequestCancelled, 'The request was cancelled.'));
  if (context.cancellation.isCancellationRequested) cancel();
  else context.cancellation.onCancellationRequested(cancel);
  return controller.signal;
}

function callerOf(context: RequestContext): { client: string; requestId: string; connectionId: number } {
  return { client: context.client.name, requestId: context.requestId, connectionId: context.client.connectionId };
}

/** Registers `services/*`: status, redacted logs and restart/stop/start of deployed projects (daemon/operations/). */
export function registerServicesHandlers(router: Router, services: Services): void {
  const operations = services.operations;
  router.handle(ServicesStatus, async (params, context) => ({
    projects: await Promise.all((await operations.status(params.project, callerOf(context))).map((project) => withDomainUrls(services, project))),
  }));
  router.handle(ServicesLogs, (params, context) => operations.logs(params, callerOf(context), cancelSignal(context)));
  router.handle(ServicesControl, (params, context) => operations.control(params, callerOf(context), cancelSignal(context)));
}
