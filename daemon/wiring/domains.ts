import type { AuditLog } from '../audit/auditLog.js';
import type { Allocator } from '../allocation/allocator.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { Releases } from '../deploy/releases.js';
import { type DomainPlacement, DomainService } from '../domains/service.js';
import { DomainStore } from '../domains/store.js';
import type { InventoryService } from '../inventory/service.js';
import { proxyRestartOf } from '../proxy/restarts.js';
import { ProxyService } from '../proxy/service.js';
import type { NotifyEvent } from '../notify/service.js';
import { ProxyStatusBook } from '../proxy/status.js';
import { ServersDidChange } from '../protocol/servers.js';
import type { SettingsService } from '../settings/settings.js';
import type { UndeployService } from '../undeploy/service.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** What the domains are built from, besides the foundation. */
export interface DomainsNeeds {
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  readonly vault: Vault;
  readonly inventory: InventoryService;
  readonly allocator: Allocator;
  readonly locks: ProjectLocks;
  readonly releases: Pick<Releases, 'current'>;
  readonly undeploy: UndeployService;
}

/**
 * Builds the proxy (one Caddy per server, over the inventory's SSH) and the domains over it: placements from the
 * allocator and the inventory, the DNS token from the vault. An undeploy's hook removes the project's domains.
 */
export async function wireDomains(
  foundation: Foundation,
  needs: DomainsNeeds,
): Promise<{ domains: DomainService; proxy: ProxyService; proxyRestarts: { raise?: (event: NotifyEvent) => void } }> {
  const { settings, inventory, allocator } = needs;
  const proxyStatus = await ProxyStatusBook.open(foundation.store);
  // Joined to the notifications once they exist (they are built after the domains).
  const proxyRestarts: { raise?: (event: NotifyEvent) => void } = {};
  const proxy = new ProxyService({
    openShell: (server, use, signal) => inventory.openSsh(server, use, signal ? { signal } : {}),
    image: () => settings.get('proxyImage'),
    // The Servers view shows the proxy: a change of its state is a change of the server.
    seen(server, seen) {
      proxyStatus.record(server, seen).then(
        (changed) => changed && foundation.server.notify(ServersDidChange, { handles: [server] }),
        (error: unknown) => foundation.log.warn('the state of a proxy was not saved', { server, error: error instanceof Error ? error.message : String(error) }),
      );
    },
    // A proxy the daemon had to start again is news to whoever runs the server: the `proxy.restarted` notification.
    acted(outcome, mode) {
      const restart = proxyRestartOf(outcome, mode);
      if (restart) proxyRestarts.raise?.({ kind: 'proxy.restarted', subject: outcome.server, ...restart });
    },
  });
  const domains = new DomainService({
    domains: new DomainStore(foundation.store),
    proxy,
    proxyStatus,
    locks: needs.locks,
    audit: needs.audit,
    notifier: foundation.server,
    redactor: foundation.redactor,
    log: foundation.logger.child({ component: 'domains' }),
    async placement(project): Promise<DomainPlacement | undefined> {
      const allocations = await allocator.list(project);
      const first = allocations[0];
      if (!first) return undefined;
      let host: string;
      try {
        host = (await inventory.inventory.row(first.server)).host;
      } catch {
        return undefined;
      }
      return { server: first.server, host, ports: Object.fromEntries(allocations.map((allocation) => [allocation.module, allocation.port])) };
    },
    slotPort: (project, module) => allocator.slotPort(project, module),
    releaseSlot: (project, module) => allocator.releaseSlot(project, module),
    deployed: async (project) => (await needs.releases.current(project)) !== undefined,
    settings: () => settings.all(),
    withSecret: (handle, use, work) => needs.vault.withValue(handle, use, work),
  });
  // A server's health check also checks its proxy, when it has domains: a stopped or removed one is started again with
  // the config it had, and the audit log and the daemon's log say so.
  const log = foundation.logger.child({ component: 'proxy' });
  inventory.afterCheck(async (server, call) => {
    const routes = await domains.routesOf(server);
    if (routes.length === 0) return;
    const use = { client: call.client, requestId: call.requestId, action: 'ssh', detail: { server, purpose: 'proxy-check' } };
    // One request through the proxy for a host it routes (a plain name first; a wildcard covers any name under it).
    const host = [...routes.map((route) => route.domain)].sort((a, b) => Number(a.startsWith('*.')) - Number(b.startsWith('*.')))[0]?.replace(/^\*\./, 'zavhoz-check.');
    const outcome = await proxy.check(server, use, call.signal, host === undefined ? undefined : { host, port: settings.get('proxyHttpsPort') });
    if (outcome.probe?.serves === false) log.warn('the proxy runs but does not serve', { server, host, why: outcome.probe.why });
    if (outcome.action === 'running') return;
    log.warn('the proxy was not running; the health check brought it back', { server, container: outcome.container, action: outcome.action });
    await needs.audit.record({ client: call.client, requestId: call.requestId, action: 'proxy-restart', subject: `server:${server}`, detail: { container: outcome.container, action: outcome.action } });
    foundation.server.notify(ServersDidChange, { handles: [server] });
  });
  // A removed server's proxy and domains are forgotten: the views would show a proxy for a server that is gone, and a
  // domain that routes nowhere would keep its name from every other project.
  inventory.afterRemove(async (server, call) => {
    const note = (message: string): void => log.warn(message, { server });
    const forgotten = await domains.forgetServer(server, { client: call.client, requestId: call.requestId, signal: call.signal }, note);
    if (forgotten.length > 0) log.info('the domains of a removed server were forgotten', { server, domains: forgotten });
  });
  needs.undeploy.afterUndeploy(async (result, note) => {
    await domains.removeProject(result.project, { client: 'daemon', requestId: `undeploy-${result.project}` }, note);
  });
  return { domains, proxy, proxyRestarts };
}
