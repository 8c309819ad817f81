import { type DomainChange, type DomainInfo, DomainsAdd, DomainsList, DomainsRemove } from '../../protocol/domains.js';
import type { RequestParams } from '../../protocol/define.js';
import { type Command, CliError, call, stringFlag } from '../command.js';

function formatDomains(domains: readonly DomainInfo[]): string {
  return domains
    .map((domain) => `${domain.domain.padEnd(32)} ${`${domain.project}/${domain.module}`.padEnd(24)} ${domain.server.padEnd(12)} ${domain.url}${domain.dns ? `  dns ${domain.dns.type} ${domain.dns.content}` : ''}`)
    .join('\n');
}

function formatChange(change: DomainChange, verb: 'Added' | 'Removed'): string {
  const { domain } = change;
  const dns =
    change.dnsAction === 'none'
      ? verb === 'Added'
        ? 'no DNS record written (no dnsTokenSecret set): point the name at the server yourself'
        : 'no DNS record to delete'
      : `DNS record ${change.dnsAction}`;
  const lines = [
    verb === 'Added'
      ? `Added ${domain.domain} → ${domain.project}/${domain.module} on ${domain.server}: ${domain.url} (proxy ${change.proxy}; ${dns}).`
      : `Removed ${domain.domain} from ${domain.project} on ${domain.server} (proxy ${change.proxy}; ${dns}).`,
  ];
  for (const warning of change.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}

/** `zavhoz domain add|list|remove`. */
export const domainCommands: Command[] = [
  {
    path: ['domain', 'add'],
    usage: 'zavhoz domain add DOMAIN --project P [--module M] [--json]',
    summary: "Route a domain to a deployed project's module through the proxy on its server, with automatic HTTPS (and its DNS record, with a DNS token).",
    examples: ['zavhoz domain add shop.example.com --project shop', 'zavhoz domain add api.example.com --project shop --module backend'],
    positionals: [1, 1],
    options: {
      project: { type: 'string', value: 'P', description: 'The deployed project the domain routes to (required).' },
      module: { type: 'string', value: 'M', description: 'The module to route to; needed when the project has more than one module with a port.' },
    },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      if (project === undefined || project === '') throw new CliError('--project is required.', 2);
      const module = stringFlag(context.flags, 'module');
      const params: RequestParams<typeof DomainsAdd> = { domain: context.positionals[0] ?? '', project, ...(module === undefined ? {} : { module }) };
      const change = await call(context, DomainsAdd, params);
      context.print(change, () => formatChange(change, 'Added'));
    },
  },
  {
    path: ['domain', 'list'],
    usage: 'zavhoz domain list [--project P] [--json]',
    summary: 'List the domains Zavhoz routes, with their project, module, server, URL and DNS record.',
    examples: ['zavhoz domain list', 'zavhoz domain list --project shop --json'],
    options: { project: { type: 'string', value: 'P', description: "Only this project's domains." } },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      const { domains } = await call(context, DomainsList, project === undefined ? {} : { project });
      context.print(domains, () => (domains.length === 0 ? 'No domains yet. Add one with: zavhoz domain add DOMAIN --project P' : formatDomains(domains)));
    },
  },
  {
    path: ['domain', 'remove'],
    usage: 'zavhoz domain remove DOMAIN [--json]',
    summary: 'Remove a domain: its route leaves the proxy and the DNS record Zavhoz made for it is deleted.',
    examples: ['zavhoz domain remove shop.example.com'],
    positionals: [1, 1],
    async run(context) {
      const change = await call(context, DomainsRemove, { domain: context.positionals[0] ?? '' });
      context.print(change, () => formatChange(change, 'Removed'));
    },
  },
];
