import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { deployProject } from './env.js';
import { moduleName } from './fields.js';

/** A domain as typed: the daemon normalizes and checks it (labels, wildcard form, not an IP address). */
export const domainName = lazySchema(() => z.string().min(1).max(254));

/** The DNS record Zavhoz keeps for a domain (Cloudflare), or null when it manages none. */
export interface DomainDns {
  /** `A` or `AAAA`. */
  readonly type: 'A' | 'AAAA';
  /** The address it points to: the server's. */
  readonly content: string;
}

/** A domain routed by the proxy on the project's server to one of its modules. */
export interface DomainInfo {
  readonly domain: string;
  readonly project: string;
  readonly module: string;
  readonly server: string;
  /** `https://DOMAIN` (with the proxy's HTTPS port when it is not 443). */
  readonly url: string;
  readonly dns: DomainDns | null;
  readonly createdAt: string;
}

/** What a `domains/add` or `domains/remove` did beyond the store: the proxy, DNS, and what needs the user. */
export interface DomainChange {
  readonly domain: DomainInfo;
  /** What was done to the server's proxy: `started` (installed), `reloaded`, `replaced`, `restarted`. */
  readonly proxy: string;
  /** `created`, `updated`, `unchanged`, `removed`, or `none` when no DNS token is set (the user points the name). */
  readonly dnsAction: 'created' | 'updated' | 'unchanged' | 'removed' | 'none';
  /** Things that did not stop the change but need the user (a DNS record that could not be written). */
  readonly warnings: readonly string[];
}

/**
 * Routes a domain to a deployed project's module through the proxy on its server, with automatic HTTPS (setting
 * `proxyTls`), installing the proxy on first use; with a DNS token (setting `dnsTokenSecret`) the A/AAAA record is
 * made to point at the server. `module` may be left out when the project has one module with a port. Refused: an
 * invalid name, a domain of another project, a wildcard unless `proxyTls` is `internal` (a public wildcard certificate
 * needs a DNS module the proxy lacks) or without a DNS token, a project not deployed. Adding the same domain to the
 * same project again re-applies it.
 */
export const DomainsAdd = defineRequest(
  'domains/add',
  () => z.strictObject({ domain: domainName, project: deployProject, module: moduleName.optional() }),
  result<DomainChange>(),
);

/** Lists domains, all or one project's, sorted by name. */
export const DomainsList = defineRequest(
  'domains/list',
  () => z.strictObject({ project: deployProject.optional() }),
  result<{ readonly domains: readonly DomainInfo[] }>(),
);

/** Removes a domain: its route leaves the proxy, and the DNS record Zavhoz made for it is deleted. */
export const DomainsRemove = defineRequest('domains/remove', () => z.strictObject({ domain: domainName }), result<DomainChange>());

/** Sent to every client after domains were added or removed. */
export const DomainsDidChange = defineNotification('domains/didChange', () => z.strictObject({ projects: z.array(z.string()) }));
