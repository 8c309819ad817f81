import { ServersList, type ServerInfo } from '../protocol/servers.js';
import { SettingsGet } from '../protocol/settings.js';
import { listAll } from './paging.js';
import type { AddressView, ToolCall } from './tool.js';

/**
 * Agents know servers by name. Every tool answer, error and confirmation passes {@link AddressView.hide} on its
 * way out (in `catalogue.ts`, not in each tool), which writes each server's handle where its address stood: the
 * address with any `user@` before it and any port after it, its SSH port where it stands alone (`-p 2222`), and the
 * vault handle of its SSH key. So a daemon error that names `root@203.0.113.7:22`, a run's log tail, or a tool
 * written tomorrow cannot hand an agent what it needs to reach a server around Zavhoz. The human lifts this with the
 * `agentSeesAddresses` setting.
 *
 * A deployed service's URL is public, but Zavhoz knows no public name for a server, only the address it reaches it
 * at over SSH; so unless addresses are shown, an agent learns a service's server and port, not its URL.
 */

/** What stands where an address was that is not one managed server's (several share it, or only a ghost has it). */
const HIDDEN_ADDRESS = '(hidden address)';

/** What the note in answers tells the model, so it does not guess or ask for an address. */
export const ADDRESSES_HIDDEN_NOTE =
  'server addresses, SSH users, ports and keys are not shown to agents; servers are named by handle (the human can allow addresses with `zavhoz config set agentSeesAddresses true`)';

/** A `user@` before an address, and where an address may not continue (a longer host name or IP address). */
const USER_PREFIX = '(?:[A-Za-z0-9_.-]+@)?';
const HOST_START = '(?<![A-Za-z0-9_.:-])';
const HOST_END = '(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Any IPv4 address (with a `user@` before it and a port after it), for when the servers could not be read. */
const ANY_IPV4 = new RegExp(`${HOST_START}${USER_PREFIX}\\d{1,3}(?:\\.\\d{1,3}){3}(?::\\d{1,5})?${HOST_END}`, 'g');
/** Any IPv6 address written with `::` (the usual way), likewise. */
const ANY_IPV6 = new RegExp(`${HOST_START}${USER_PREFIX}\\[?[0-9a-fA-F:]*::[0-9a-fA-F:]*\\]?${HOST_END}`, 'g');

/** One address and what replaces it. The pattern is compiled only for a text that holds the needle (lower case). */
interface Rewrite {
  readonly pattern: () => RegExp;
  readonly replacement: string;
  readonly needle: string;
}

/** The view of the servers an agent's answers are written through: addresses hidden unless `shown`. */
export function addressView(servers: readonly ServerInfo[], shown: boolean): AddressView {
  if (shown) return { shown, hide: (text) => text };
  const rewrites = [...hostRewrites(servers), ...portRewrites(servers), ...keyRewrites(servers)];
  return {
    shown,
    hide(text) {
      let hidden = text;
      for (const rewrite of rewrites) {
        if (hidden.toLowerCase().includes(rewrite.needle)) hidden = hidden.replace(rewrite.pattern(), rewrite.replacement);
      }
      return hidden;
    },
  };
}

/** Hides anything shaped like an address: used when the servers could not be read, so nothing is let through unseen. */
export function blindAddressView(): AddressView {
  return { shown: false, hide: (text) => text.replace(ANY_IPV4, HIDDEN_ADDRESS).replace(ANY_IPV6, HIDDEN_ADDRESS) };
}

/** The view for one tool call: the `agentSeesAddresses` setting and every server (ghosts too). Never throws. */
export async function readAddressView(call: ToolCall): Promise<AddressView> {
  try {
    const settings = await call.request(SettingsGet, {});
    if (settings.agentSeesAddresses) return addressView([], true);
    return addressView(await listAll(call, ServersList, { all: true }, (page) => page.servers), false);
  } catch {
    return blindAddressView();
  }
}

/** The handle that replaces a value `servers` share: the one managed server's among them (a ghost is never named), else `neutral`. */
function nameOf(servers: readonly ServerInfo[], neutral: string): string {
  const managed = servers.filter((server) => server.managed);
  return managed.length === 1 && managed[0] ? managed[0].handle : neutral;
}

function groupBy(servers: readonly ServerInfo[], key: (server: ServerInfo) => string | null): Map<string, ServerInfo[]> {
  const groups = new Map<string, ServerInfo[]>();
  for (const server of servers) {
    const value = key(server);
    if (value === null || value === '') continue;
    groups.set(value, [...(groups.get(value) ?? []), server]);
  }
  return groups;
}

/**
 * Each host, with any `user@` before it and any port after it (`:22`, or ssh's ` port 22`): the port may be an SSH
 * port the server had when the text was written, and an agent that needs a service's port has it from the tools.
 */
function hostRewrites(servers: readonly ServerInfo[]): Rewrite[] {
  // Longest first, so a host that contains another (a.example.com, example.com) is replaced whole.
  const hosts = [...groupBy(servers, (server) => server.host)].sort(([left], [right]) => right.length - left.length);
  return hosts.map(([host, sharing]) => {
    const bare = escapeRegExp(host.replace(/^\[|\]$/g, ''));
    const address = `(?:\\[${bare}\\]|${bare})`;
    return {
      pattern: () => new RegExp(`${HOST_START}${USER_PREFIX}${address}(?:(?::| port )\\d{1,5}(?!\\d))?${HOST_END}`, 'gi'),
      replacement: nameOf(sharing, HIDDEN_ADDRESS),
      needle: host.replace(/^\[|\]$/g, '').toLowerCase(),
    };
  });
}

/** Each server's SSH port where ssh and the daemon's messages write one away from the host: `-p 2222`, `port 2222`, `--ssh-port 2222`. */
function portRewrites(servers: readonly ServerInfo[]): Rewrite[] {
  return [...new Set(servers.map((server) => server.sshPort))].map((port) => ({
    pattern: () => new RegExp(`(?<![A-Za-z0-9_])(-p ?|port[ =]?)${port}(?!\\d)`, 'gi'),
    replacement: '$1(SSH port)',
    needle: String(port),
  }));
}

/** Each SSH key handle, as "the SSH key of HANDLE". */
function keyRewrites(servers: readonly ServerInfo[]): Rewrite[] {
  return [...groupBy(servers, (server) => server.sshKeySecret)].map(([key, sharing]) => {
    const name = nameOf(sharing, '');
    return {
      pattern: () => new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(key)}(?![A-Za-z0-9_])`, 'g'),
      replacement: name === '' ? "(a server's SSH key)" : `(the SSH key of ${name})`,
      needle: key.toLowerCase(),
    };
  });
}
