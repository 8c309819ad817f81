import { DomainsAdd, DomainsList, DomainsRemove } from '../protocol/domains.js';
import { signalOf } from './servers.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `domains/add`, `domains/list` and `domains/remove`. */
export function registerDomainHandlers(router: Router, services: Services): void {
  const { domains } = services;
  router.handle(DomainsAdd, async (params, context) => {
    const change = await domains.add(params, { client: context.client.name, requestId: context.requestId, signal: signalOf(context.cancellation) });
    context.log.info('domain added', { domain: change.domain.domain, project: change.domain.project, proxy: change.proxy, dns: change.dnsAction });
    return change;
  });
  router.handle(DomainsList, async (params) => ({ domains: await domains.list(params.project) }));
  router.handle(DomainsRemove, async (params, context) => {
    const change = await domains.remove(params.domain, { client: context.client.name, requestId: context.requestId, signal: signalOf(context.cancellation) });
    context.log.info('domain removed', { domain: change.domain.domain, project: change.domain.project, proxy: change.proxy, dns: change.dnsAction });
    return change;
  });
}
