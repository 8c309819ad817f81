import { type ServerInfo, type ServerStatus, describeProxy } from '../../daemon/protocol/servers.js';
import { formatMegabytes } from './format.js';

/** Order and titles of the Servers view's groups: the most useful first. */
export const SERVER_GROUPS: readonly { readonly status: ServerStatus; readonly title: string; readonly icon: string }[] = [
  { status: 'ready', title: 'Ready', icon: 'pass' },
  { status: 'in_use', title: 'In Use', icon: 'server-process' },
  { status: 'discovered', title: 'Discovered', icon: 'search' },
  { status: 'unreachable', title: 'Unreachable', icon: 'debug-disconnect' },
  { status: 'missing', title: 'Missing', icon: 'question' },
];

/** A group of the Servers view: a status, or the ghost servers (personal machines) when shown. */
export interface ServerGroup {
  readonly key: ServerStatus | 'ghost';
  readonly title: string;
  readonly icon: string;
  readonly servers: readonly ServerInfo[];
}

/** How the Servers view is narrowed. */
export interface ServerViewOptions {
  readonly showGhosts: boolean;
  /** Only servers carrying this label. */
  readonly label?: string;
}

/**
 * Groups servers by status in a fixed order (empty groups left out); ghost servers are hidden, or collected in
 * their own last group when asked for. Servers inside a group are sorted by name.
 */
export function groupServers(servers: readonly ServerInfo[], options: ServerViewOptions): ServerGroup[] {
  const visible = servers
    .filter((server) => options.label === undefined || server.labels.includes(options.label))
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name) || a.handle.localeCompare(b.handle));
  const groups: ServerGroup[] = SERVER_GROUPS.map((group) => ({
    key: group.status,
    title: group.title,
    icon: group.icon,
    servers: visible.filter((server) => server.managed && server.status === group.status),
  }));
  if (options.showGhosts) groups.push({ key: 'ghost', title: 'Ghost (not managed)', icon: 'eye-closed', servers: visible.filter((server) => !server.managed) });
  return groups.filter((group) => group.servers.length > 0);
}

/** Every label used by any server, sorted: the choices of "Filter by Label". */
export function serverLabels(servers: readonly ServerInfo[]): string[] {
  return [...new Set(servers.flatMap((server) => server.labels))].sort();
}

/** The one-line description of a server: host, available RAM and disk, allocation count. */
export function describeServer(server: ServerInfo): string {
  const parts = [server.sshPort === 22 ? server.host : `${server.host}:${server.sshPort}`];
  const ram = server.availableRamMb ?? server.ramMb;
  const disk = server.availableDiskMb ?? server.diskMb;
  if (ram !== null) parts.push(`${formatMegabytes(ram)} RAM${server.availableRamMb !== null ? ' free' : ''}`);
  if (disk !== null) parts.push(`${formatMegabytes(disk)} disk${server.availableDiskMb !== null ? ' free' : ''}`);
  parts.push(server.services === 1 ? '1 allocation' : `${server.services} allocations`);
  // A server without a proxy says nothing of it: most have none.
  if (server.proxy && server.proxy.state !== 'not-installed') parts.push(describeProxy(server.proxy));
  return parts.join(' · ');
}

/** The tooltip lines of a server (Markdown-safe plain lines; no value of any secret, only the key's handle). */
export function serverDetails(server: ServerInfo): string[] {
  const lines = [`${server.name} (${server.handle})`, `ssh ${server.sshUser}@${server.host} -p ${server.sshPort}`];
  lines.push(`Status: ${server.status.replace('_', ' ')}${server.managed ? '' : ' · ghost (not managed)'}`);
  if (server.ramMb !== null || server.diskMb !== null || server.cpuCores !== null) {
    const capacity = [
      server.cpuCores === null ? undefined : `${server.cpuCores} CPU`,
      server.ramMb === null ? undefined : `${formatMegabytes(server.ramMb)} RAM`,
      server.diskMb === null ? undefined : `${formatMegabytes(server.diskMb)} disk`,
    ].filter((part) => part !== undefined);
    lines.push(`Capacity: ${capacity.join(', ')}`);
  }
  if (server.reservedRamMb > 0) lines.push(`Reserved by allocations: ${formatMegabytes(server.reservedRamMb)} RAM`);
  lines.push(`SSH key: ${server.sshKeySecret ?? 'none set'}`);
  if (server.labels.length > 0) lines.push(`Labels: ${server.labels.join(', ')}`);
  if (server.provider) lines.push(`Provider: ${server.provider}${server.providerId ? ` #${server.providerId}` : ''}`);
  if (server.proxy && server.proxy.state !== 'not-installed') {
    const checked = server.proxy.checkedAt ? ` (checked ${server.proxy.checkedAt})` : '';
    lines.push(`Proxy: ${describeProxy(server.proxy).replace(/^proxy /, '')}${checked}${server.proxy.error ? ` — ${server.proxy.error}` : ''}`);
  }
  if (server.lastCheckAt) lines.push(`Last check: ${server.lastCheckAt}${server.lastCheckError ? ` — ${server.lastCheckError}` : ''}`);
  if (server.offeredHostKeyFingerprint) lines.push(`Host key changed: offered ${server.offeredHostKeyFingerprint}, pinned ${server.hostKeyFingerprint ?? 'none'}`);
  return lines;
}

/** A server handle suggested from its host name: `203.0.113.5` → `s203_0_113_5`, `Web-1.example.com` → `web-1`. */
export function handleFromHost(host: string): string {
  const first = /^\d+(\.\d+){3}$/.test(host) ? host : (host.split('.')[0] ?? host);
  const handle = first.toLowerCase().replace(/[^a-z0-9_-]+/g, '_').slice(0, 63);
  return /^[a-z]/.test(handle) ? handle : `s${handle}`.slice(0, 64);
}
