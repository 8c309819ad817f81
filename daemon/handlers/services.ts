import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { type ProjectStatus, ServicesControl, ServicesLogs, ServicesStatus } from '../protocol/services.js';
import type { RequestContext, Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { cutPage, decodeCursor } from './paging.js';

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
  router.handle(ServicesStatus, async (params, context) => {
    const after = decodeCursor(params.cursor, ['string'])?.[0] as string | undefined;
    const placements = (await operations.placements(params.project)).filter((placement) => after === undefined || placement.project > after).slice(0, params.limit + 1);
    // The servers are asked about the projects this page can hold (one round trip each); the one after only says more follow.
    const statusOf = await operations.statusView(placements.slice(0, params.limit), callerOf(context));
    const { rows: projects, nextCursor } = await cutPage(placements, {
      limit: params.limit,
      toRow: (placement) => withDomainUrls(services, statusOf(placement)),
      keyOf: (placement) => [placement.project],
    });
    return { projects, ...(nextCursor ? { nextCursor } : {}) };
  });
  router.handle(ServicesLogs, (params, context) => operations.logs(params, callerOf(context), cancelSignal(context)));
  router.handle(ServicesControl, (params, context) => operations.control(params, callerOf(context), cancelSignal(context)));
}
