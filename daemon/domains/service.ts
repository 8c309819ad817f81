import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError, describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { TextRedactor } from '../core/redactor.js';
import { CloudflareDns, recordTypeOf } from '../dns/cloudflare.js';
import { type DomainChange, type DomainInfo, DomainsDidChange } from '../protocol/domains.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Settings } from '../protocol/settings.js';
import { FAIL_DURATION_SECONDS, type ProxyRoute } from '../proxy/config.js';
import { slotContainer } from '../proxy/remote.js';
import type { ProxyService } from '../proxy/service.js';
import type { ProxyStatusBook } from '../proxy/status.js';
import type { ServerProxy } from '../protocol/servers.js';
import type { ProxySwitch } from '../deploy/ports.js';
import type { SecretUse } from '../vault/api.js';
import { normalizeDomain } from './names.js';
import type { DomainRow, DomainStore } from './store.js';

/** Where a deployed project runs: its server, the address Zavhoz reaches it at, and each module's port. */
export interface DomainPlacement {
  readonly server: string;
  readonly host: string;
  readonly ports: Readonly<Record<string, number>>;
}

/** The settings the domains read. */
export type DomainSettings = Pick<Settings, 'proxyTls' | 'proxyHttpPort' | 'proxyHttpsPort' | 'dnsTokenSecret' | 'cloudflareApiBase'>;

/** What the domain service is built from. */
export interface DomainsDependencies {
  readonly domains: DomainStore;
  readonly proxy: ProxyService;
  /** What the last apply or check found of each server's proxy. */
  readonly proxyStatus: Pick<ProxyStatusBook, 'info' | 'forget'>;
  readonly locks: ProjectLocks;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  readonly redactor: TextRedactor;
  readonly log: ScopedLogger;
  /** The project's server and module ports, while it has an allocation. */
  placement(project: string): Promise<DomainPlacement | undefined>;
  /**
   * The module's switchover slot port from the allocator (handed out on first use, the same port after): where its next
   * release answers beside the old one. Undefined when the module has no allocation.
   */
  slotPort(project: string, module: string): Promise<number | undefined>;
  /** Gives the module's switchover slot back to the allocator; the port it held, or undefined when it held none. */
  releaseSlot(project: string, module: string): Promise<number | undefined>;
  /** True once the project has a release that is not archived. */
  deployed(project: string): Promise<boolean>;
  settings(): DomainSettings;
  /** Lends a vault value (the DNS token) for one operation. */
  withSecret<T>(handle: string, use: SecretUse, work: (value: string) => Promise<T>): Promise<T>;
}

/** Who asked, for the audit log and the vault's loans. */
export interface DomainCaller {
  readonly client: string;
  readonly requestId: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Domains of deployed projects: each one a route of the proxy on the project's server (automatic HTTPS) and, with
 * a DNS token, a Cloudflare record pointing at that server. The store holds what is routed; every change re-renders
 * the whole proxy config of the server from it, so the proxy never drifts from the store. Changes hold the project.
 */
export class DomainService {
  constructor(private readonly dependencies: DomainsDependencies) {}

  /** Every domain, or one project's. */
  async list(project?: string): Promise<DomainInfo[]> {
    return (await this.dependencies.domains.list({ project })).map((row) => this.info(row));
  }

  /** Each server's proxy as the views show it: its last seen state and how many domains route through it. */
  async proxyView(): Promise<(server: string) => ServerProxy> {
    const counts = await this.dependencies.domains.countByServer();
    return (server) => this.dependencies.proxyStatus.info(server, counts.get(server) ?? 0);
  }

  /**
   * Module → `https://DOMAIN` for each module of a project with a domain: the URL a person opens. A plain name wins over
   * a wildcard (which has no one address), then the first by name.
   */
  async urlsOf(project: string): Promise<Record<string, string>> {
    const urls: Record<string, string> = {};
    for (const row of await this.dependencies.domains.list({ project })) {
      if (row.domain.startsWith('*.') || urls[row.module] !== undefined) continue;
      urls[row.module] = this.info(row).url;
    }
    return urls;
  }

  /** Routes a domain to a module of a deployed project (see `domains/add`). */
  async add(request: { domain: string; project: string; module?: string | undefined }, caller: DomainCaller): Promise<DomainChange> {
    const { domains, locks } = this.dependencies;
    const settings = this.dependencies.settings();
    const name = normalizeDomain(request.domain);
    if ('error' in name) throw new ZavhozError(ErrorCodes.InvalidInput, `"${request.domain.slice(0, 254)}" is not a domain Zavhoz can route: ${name.error}.`);
    const { domain, wildcard } = name;
    // A wildcard certificate from a public CA is proven only through DNS (ACME DNS-01), and the stock proxy image has
    // no DNS module for it: Caddy would take the config and fail to get a certificate later, out of the user's sight.
    if (wildcard && settings.proxyTls !== 'internal') {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `Zavhoz cannot route the wildcard domain ${domain} with proxyTls ${settings.proxyTls}: a public certificate for a wildcard is proven through DNS (ACME DNS-01), and the proxy has no DNS module for that. Add each name separately instead, e.g. zavhoz domain add www.${domain.slice(2)} --project ${request.project}. A proxy image with a DNS module is not supported yet.`,
      );
    }
    if (wildcard && settings.dnsTokenSecret === '') {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `A wildcard domain (${domain}) needs DNS credentials: its certificate is proven through DNS. Store a Cloudflare API token (category domain) with \`zavhoz secret set\`, then \`zavhoz config set dnsTokenSecret HANDLE\`.`,
      );
    }
    refuseTaken(await domains.get(domain), request.project);
    return locks.hold(request.project, `domain add of ${domain}`, async () => {
      if (!(await this.dependencies.deployed(request.project))) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Project ${request.project} is not deployed, so there is nothing for ${domain} to route to. Deploy it first: zavhoz deploy DIR --project ${request.project} --repo OWNER/NAME`,
        );
      }
      const placement = await this.dependencies.placement(request.project);
      if (!placement) throw new ZavhozError(ErrorCodes.PreconditionFailed, `Project ${request.project} has no allocation any more. Deploy it again, then add ${domain}.`);
      const module = chooseModule(request.project, request.module, placement);
      // Again, in the lock: another project's add (which holds another lock) may have taken the name meanwhile. The
      // write checks the owner too, in its own statement, so a name taken between this read and the write is refused.
      const previous = await domains.get(domain);
      refuseTaken(previous, request.project);
      const row: DomainRow = {
        domain,
        project: request.project,
        module,
        server: placement.server,
        created_at: previous?.created_at ?? new Date().toISOString(),
        dns_type: previous?.dns_type ?? null,
        dns_content: previous?.dns_content ?? null,
      };
      if (!(await domains.put(row))) {
        refuseTaken(await domains.get(domain), request.project);
        throw new ZavhozError(ErrorCodes.Conflict, `${domain} changed while it was being added. Try again.`);
      }
      const undo = async (): Promise<void> => {
        if (previous) await domains.put(previous);
        else await domains.delete(domain);
      };
      let proxy: string;
      try {
        proxy = await this.applyServer(placement.server, caller, undo);
        // A domain that moved to another server leaves the old server's proxy.
        if (previous && previous.server !== placement.server) await this.applyServer(previous.server, caller, undo);
      } catch (error) {
        // A move whose old server failed: the new server's proxy already took the domain, which the store now puts
        // back on the old one, so the new server gets its config again from the store.
        if (previous && previous.server !== placement.server) await this.reapply(placement.server, domain, caller);
        throw error;
      }
      const warnings = this.reloadWarnings(placement.server, proxy);
      // A domain moved to another module of the project: the one it left may have no domain any more.
      const slotReleased = previous && previous.module !== module ? await this.releaseSlotIfUnused(previous, caller) : undefined;
      const dnsAction = await this.pointDns(row, placement.host, caller, warnings);
      await this.dependencies.audit.record({
        client: caller.client,
        requestId: caller.requestId,
        action: 'domain-add',
        subject: `domain:${domain}`,
        detail: { project: request.project, module, server: placement.server, proxy, dns: dnsAction, ...(slotReleased === undefined ? {} : { slotReleased }) },
      });
      this.dependencies.notifier.notify(DomainsDidChange, { projects: [request.project] });
      const stored = (await domains.get(domain)) ?? row;
      return { domain: this.info(stored), proxy, dnsAction, warnings };
    }, caller.signal ? { signal: caller.signal } : {});
  }

  /** Removes a domain from its server's proxy, and its DNS record (see `domains/remove`). */
  async remove(input: string, caller: DomainCaller): Promise<DomainChange> {
    const { domains } = this.dependencies;
    const name = normalizeDomain(input);
    const domain = 'error' in name ? input : name.domain;
    const row = await domains.get(domain);
    if (!row) throw new ZavhozError(ErrorCodes.NotFound, `${domain} is not a domain Zavhoz routes. \`zavhoz domain list\` shows the ones it does.`);
    return this.dependencies.locks.hold(row.project, `domain remove of ${domain}`, async () => {
      await domains.delete(domain);
      const proxy = await this.applyServer(row.server, caller, async () => {
        await domains.put(row);
      });
      const warnings = this.reloadWarnings(row.server, proxy);
      const slotReleased = await this.releaseSlotIfUnused(row, caller);
      const dnsAction = await this.removeDns(row, caller, warnings);
      await this.dependencies.audit.record({
        client: caller.client,
        requestId: caller.requestId,
        action: 'domain-remove',
        subject: `domain:${domain}`,
        detail: { project: row.project, server: row.server, proxy, dns: dnsAction, ...(slotReleased === undefined ? {} : { slotReleased }) },
      });
      this.dependencies.notifier.notify(DomainsDidChange, { projects: [row.project] });
      return { domain: this.info(row), proxy, dnsAction, warnings };
    }, caller.signal ? { signal: caller.signal } : {});
  }

  /**
   * After an undeploy (which holds the project and released its allocation): its domains leave the proxy and their
   * DNS records are deleted; what could not be done is noted, not thrown.
   */
  async removeProject(project: string, caller: DomainCaller, note: (message: string) => void): Promise<string[]> {
    const { domains } = this.dependencies;
    const rows = await domains.list({ project });
    if (rows.length === 0) return [];
    for (const row of rows) await domains.delete(row.domain);
    for (const server of new Set(rows.map((row) => row.server))) {
      try {
        await this.applyServer(server, caller);
      } catch (error) {
        note(`the proxy on ${server} still routes ${rows.map((row) => row.domain).join(', ')}: ${describeError(error, this.dependencies.redactor)}`);
      }
    }
    return this.removedWith(rows, `project:${project}`, 'undeploy', caller, note);
  }

  /**
   * After a server left the inventory: its proxy's state is forgotten, and so are the domains it routed (no server,
   * no route), whose DNS records are deleted, as they point at an address Zavhoz no longer manages. The proxy
   * container is left on the machine: Zavhoz can no longer reach it. What could not be done is noted, not thrown.
   */
  async forgetServer(server: string, caller: DomainCaller, note: (message: string) => void): Promise<string[]> {
    const { domains } = this.dependencies;
    const rows = await domains.list({ server });
    for (const row of rows) await domains.delete(row.domain);
    await this.dependencies.proxyStatus.forget(server);
    if (rows.length === 0) return [];
    return this.removedWith(rows, `server:${server}`, 'server-removed', caller, note);
  }

  /**
   * The end of taking domains away along with what they served (an undeploy, a removed server): their DNS records
   * deleted (what could not be is noted), one audit entry, and the change told to clients. Answers the names.
   */
  private async removedWith(rows: readonly DomainRow[], subject: string, reason: string, caller: DomainCaller, note: (message: string) => void): Promise<string[]> {
    const warnings: string[] = [];
    for (const row of rows) await this.removeDns(row, caller, warnings);
    for (const warning of warnings) note(warning);
    await this.dependencies.audit.record({
      client: caller.client,
      requestId: caller.requestId,
      action: 'domain-remove',
      subject,
      detail: { domains: rows.map((row) => row.domain), reason },
    });
    this.dependencies.notifier.notify(DomainsDidChange, { projects: [...new Set(rows.map((row) => row.project))] });
    return rows.map((row) => row.domain);
  }

  /**
   * What a deploy of `project` to `server` needs to switch its modules with a domain over with no downtime: each one's
   * slot port, and one domain per module (a plain name before a wildcard) to check its health through the proxy.
   */
  async switchOf(project: string, server: string): Promise<ProxySwitch | undefined> {
    const placement = await this.dependencies.placement(project);
    if (!placement || placement.server !== server) return undefined;
    const rows = (await this.dependencies.domains.list({ project })).filter((row) => row.server === server && placement.ports[row.module] !== undefined);
    const byModule = new Map<string, string>();
    for (const row of [...rows].sort((a, b) => Number(a.domain.startsWith('*.')) - Number(b.domain.startsWith('*.')))) {
      if (!byModule.has(row.module)) byModule.set(row.module, row.domain.replace(/^\*\./, 'zavhoz-check.'));
    }
    const modules: ProxySwitch['modules'][number][] = [];
    for (const [module, domain] of byModule) {
      const slot = await this.dependencies.slotPort(project, module);
      if (slot !== undefined) modules.push({ module, domain, slotPort: slot });
    }
    if (modules.length === 0) return undefined;
    return { httpsPort: this.dependencies.settings().proxyHttpsPort, failSeconds: FAIL_DURATION_SECONDS, modules };
  }

  /** The routes of a server's proxy, from the store: every domain whose project still has its module there. */
  async routesOf(server: string): Promise<ProxyRoute[]> {
    const routes: ProxyRoute[] = [];
    for (const row of await this.dependencies.domains.list({ server })) {
      const placement = await this.dependencies.placement(row.project);
      const port = placement?.ports[row.module];
      if (!placement || placement.server !== server || port === undefined) continue;
      routes.push({ domain: row.domain, upstreams: upstreamsOf(placement.host, port, await this.dependencies.slotPort(row.project, row.module)) });
    }
    return routes;
  }

  /**
   * Renders the server's routes and puts them on its proxy; returns what was done to the proxy. On a failure, `undo`
   * rolls the store back before any other change of this server's proxy reads it.
   */
  async applyServer(server: string, caller: DomainCaller, undo?: () => Promise<void>): Promise<string> {
    const settings = this.dependencies.settings();
    const use: SecretUse = { client: caller.client, requestId: caller.requestId, action: 'ssh', detail: { server, purpose: 'proxy' } };
    const outcome = await this.dependencies.proxy.apply(
      server,
      async () => ({ httpPort: settings.proxyHttpPort, httpsPort: settings.proxyHttpsPort, tls: settings.proxyTls, routes: await this.routesOf(server) }),
      use,
      caller.signal,
      undo,
    );
    this.dependencies.log.info('proxy configured', { server, action: outcome.action });
    return outcome.action;
  }

  /**
   * A warning when a running proxy was reloaded and is a Caddy before 2.7: those drop their certificate cache on every
   * config load (any change through the admin API is such a load) and read it back from storage after the new config
   * serves, so a handshake in that moment fails (measured: 3 of 5,076 requests during 50 changes). From 2.7 on the
   * cache is kept across loads.
   */
  private reloadWarnings(server: string, action: string): string[] {
    if (action !== 'reloaded') return [];
    const version = this.dependencies.proxyStatus.info(server, 0).version;
    const match = /^v?(\d+)\.(\d+)/.exec(version ?? '');
    if (!match || Number(match[1]) !== 2 || Number(match[2]) >= 7) return [];
    return [
      `The proxy on ${server} runs Caddy ${version ?? ''}, which reloads its certificates on every change (before 2.7): a request arriving during this change may have failed its TLS handshake. Use Caddy 2.7 or newer (the default image caddy:2 is): zavhoz config set proxyImage caddy:2`,
    ];
  }

  /**
   * After the proxy stopped routing a module's last domain (it no longer dials the slot): the module's switchover slot
   * goes back to the allocator, and a switchover container a deploy left on that port is removed. A slot port never
   * has a firewall rule of its own (only the module's own port is opened), so there is none to close. Returns the
   * port released; a container that could not be removed is logged (the next deploy of the module removes it too).
   */
  private async releaseSlotIfUnused(row: DomainRow, caller: DomainCaller): Promise<number | undefined> {
    const { domains, log, redactor } = this.dependencies;
    if ((await domains.list({ project: row.project })).some((other) => other.module === row.module)) return undefined;
    const port = await this.dependencies.releaseSlot(row.project, row.module);
    if (port === undefined) return undefined;
    const container = slotContainer(row.project, row.module);
    const use: SecretUse = { client: caller.client, requestId: caller.requestId, action: 'ssh', detail: { server: row.server, purpose: 'proxy-slot' } };
    try {
      const removed = await this.dependencies.proxy.removeSlots(row.server, [container], use, caller.signal);
      log.info('switchover slot released', { project: row.project, module: row.module, server: row.server, port, removedContainer: removed.length > 0 });
    } catch (error) {
      log.warn('switchover slot released, but a container a deploy left on it may still run', { server: row.server, container, port, error: describeError(error, redactor) });
    }
    return port;
  }

  /** Applies a server again after a rollback; a failure is logged, the caller already throws the first one. */
  private async reapply(server: string, domain: string, caller: DomainCaller): Promise<void> {
    try {
      await this.applyServer(server, caller);
    } catch (error) {
      this.dependencies.log.warn('the proxy may still route a domain the store rolled back', { server, domain, error: describeError(error, this.dependencies.redactor) });
    }
  }

  private async pointDns(row: DomainRow, host: string, caller: DomainCaller, warnings: string[]): Promise<DomainChange['dnsAction']> {
    const settings = this.dependencies.settings();
    if (settings.dnsTokenSecret === '') return 'none';
    const type = recordTypeOf(host);
    if (!type) {
      warnings.push(`No DNS record was written for ${row.domain}: server ${row.server} is reached by the name ${host}, not an IP address. Point ${row.domain} at it yourself (a CNAME).`);
      return 'none';
    }
    const address = host.replace(/^\[|\]$/g, '');
    try {
      const action = await this.withDns(caller, (dns) => dns.upsert(row.domain, type, address));
      await this.dependencies.domains.put({ ...row, dns_type: type, dns_content: address });
      return action;
    } catch (error) {
      warnings.push(`${row.domain} is routed, but its DNS record was not written: ${describeError(error, this.dependencies.redactor)} Add the domain again once that is fixed.`);
      return 'none';
    }
  }

  private async removeDns(row: DomainRow, caller: DomainCaller, warnings: string[]): Promise<DomainChange['dnsAction']> {
    if (row.dns_type === null) return 'none';
    if (this.dependencies.settings().dnsTokenSecret === '') {
      warnings.push(`The DNS record of ${row.domain} (${row.dns_type} ${row.dns_content ?? ''}) stays: no DNS token is set any more. Delete it at Cloudflare.`);
      return 'none';
    }
    const type = row.dns_type;
    try {
      await this.withDns(caller, (dns) => dns.remove(row.domain, type));
      return 'removed';
    } catch (error) {
      warnings.push(`The DNS record of ${row.domain} could not be deleted: ${describeError(error, this.dependencies.redactor)} Delete it at Cloudflare.`);
      return 'none';
    }
  }

  private withDns<T>(caller: DomainCaller, work: (dns: CloudflareDns) => Promise<T>): Promise<T> {
    const settings = this.dependencies.settings();
    const use: SecretUse = { client: caller.client, requestId: caller.requestId, action: 'dns', detail: { provider: 'cloudflare' } };
    return this.dependencies.withSecret(settings.dnsTokenSecret, use, (token) =>
      work(new CloudflareDns({ apiBase: settings.cloudflareApiBase, token, signal: caller.signal })),
    );
  }

  private info(row: DomainRow): DomainInfo {
    const port = this.dependencies.settings().proxyHttpsPort;
    return {
      domain: row.domain,
      project: row.project,
      module: row.module,
      server: row.server,
      url: `https://${row.domain}${port === 443 ? '' : `:${String(port)}`}`,
      dns: row.dns_type === null ? null : { type: row.dns_type, content: row.dns_content ?? '' },
      createdAt: row.created_at,
    };
  }
}

/** A module's upstreams: its published port, then its switchover slot (from the allocator). */
function upstreamsOf(address: string, port: number, slot: number | undefined): string[] {
  const host = address.includes(':') ? `[${address}]` : address;
  return [`${host}:${String(port)}`, ...(slot === undefined ? [] : [`${host}:${String(slot)}`])];
}

/** Refuses a name another project holds. */
function refuseTaken(taken: DomainRow | undefined, project: string): void {
  if (taken && taken.project !== project) {
    throw new ZavhozError(
      ErrorCodes.Conflict,
      `${taken.domain} already routes to project ${taken.project} (module ${taken.module}). Remove it there first: zavhoz domain remove ${taken.domain}`,
    );
  }
}

/** The module a domain routes to: the one asked for, or the project's only module with a port. */
function chooseModule(project: string, asked: string | undefined, placement: DomainPlacement): string {
  const modules = Object.keys(placement.ports).sort();
  if (asked !== undefined) {
    if (placement.ports[asked] === undefined) {
      throw new ZavhozError(ErrorCodes.InvalidInput, `Project ${project} has no module ${asked} with a port; its modules: ${modules.join(', ') || 'none'}.`);
    }
    return asked;
  }
  if (modules.length === 1 && modules[0] !== undefined) return modules[0];
  throw new ZavhozError(ErrorCodes.InvalidInput, `Project ${project} has ${modules.length} modules with a port (${modules.join(', ')}): say which one with --module.`);
}
