import { ZavhozError } from '../core/errors.js';
import type { ServerRow } from '../inventory/records.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Reader } from '../inventory/records.js';

/** What a set of new modules needs from one server. */
export interface Need {
  readonly modules: number;
  /** Total RAM to reserve: the per-module minimum times the number of new modules. */
  readonly ramMb: number;
  readonly diskMb: number;
}

/** One server and the first constraint it failed. */
export interface Refusal {
  readonly server: string;
  readonly constraint: 'managed' | 'status' | 'ram' | 'disk' | 'ports';
  readonly detail: string;
}

/** RAM a server can still promise: measured (or declared) free RAM minus what allocations reserved. */
export function freeRamMb(server: ServerRow): number {
  return (server.available_ram_mb ?? server.ram_mb ?? 0) - server.reserved_ram_mb;
}

/** Free disk as last measured (or declared). */
export function freeDiskMb(server: ServerRow): number {
  return server.available_disk_mb ?? server.disk_mb ?? 0;
}

/** The first constraint `server` fails for `need`, or undefined if it can take the modules. */
export function refusalOf(server: ServerRow, need: Need): Refusal | undefined {
  const refuse = (constraint: Refusal['constraint'], detail: string): Refusal => ({ server: server.handle, constraint, detail });
  if (server.managed !== 1) return refuse('managed', 'it is a ghost server (not managed)');
  if (server.status !== 'ready' && server.status !== 'in_use') {
    const hint = server.status === 'discovered' ? `; run \`zavhoz server check ${server.handle}\`` : '';
    return refuse('status', `its status is ${server.status} (needs ready or in_use${hint})`);
  }
  const ram = freeRamMb(server);
  if (ram < need.ramMb) return refuse('ram', `it has ${ram} MB RAM free after reservations (needs ${need.ramMb} MB)`);
  const disk = freeDiskMb(server);
  if (disk < need.diskMb) return refuse('disk', `it has ${disk} MB disk free (needs ${need.diskMb} MB)`);
  return undefined;
}

/** The refusal of one server as a sentence fragment, or undefined when the server fits. */
export function usableFor(server: ServerRow, need: Need): string | undefined {
  return refusalOf(server, need)?.detail;
}

const LISTED_IN_MESSAGE = 10;

/** How ghost servers appear in a refusal: counted, never named, since the error reaches agents and automation. */
function ghostNote(ghosts: number): string {
  if (ghosts === 0) return '';
  return ` ${ghosts} ghost server(s) (personal machines) were left out; automation never uses them.`;
}

/**
 * The error for "no server fits", naming which constraint failed on which managed server. Ghost servers are only
 * counted: the message and its data reach agent tools, and automation is never told which personal machines exist.
 */
export async function explainRefusals(reader: Reader, project: string, need: Need): Promise<ZavhozError> {
  const servers = await reader.all<ServerRow>('SELECT * FROM servers WHERE managed = 1 ORDER BY handle');
  const ghosts = (await reader.get<{ count: number }>('SELECT COUNT(*) AS count FROM servers WHERE managed != 1'))?.count ?? 0;
  const refusals = servers.map((server) => refusalOf(server, need) ?? { server: server.handle, constraint: 'ports' as const, detail: 'no free TCP port from 8000 up' });
  const wants = `${need.modules} module(s), ${need.ramMb} MB RAM, ${need.diskMb} MB free disk`;
  if (refusals.length === 0) {
    const why = ghosts === 0 ? 'the inventory is empty.' : 'the inventory has no managed server.';
    return new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `No server can take project ${project} (${wants}): ${why}${ghostNote(ghosts)} Add one with \`zavhoz server add HANDLE --host H --ssh-key-secret KEY\` and check it with \`zavhoz server check HANDLE\`.`,
      { project, refusals: [], ghostServers: ghosts },
    );
  }
  const shown = refusals.slice(0, LISTED_IN_MESSAGE).map((refusal) => `${refusal.server}: ${refusal.detail}`);
  if (refusals.length > LISTED_IN_MESSAGE) shown.push(`and ${refusals.length - LISTED_IN_MESSAGE} more`);
  return new ZavhozError(
    ErrorCodes.PreconditionFailed,
    `No server can take project ${project} (${wants}). ${shown.join('; ')}.${ghostNote(ghosts)} Free capacity, add a server, or ask for less with --min-ram-mb / --min-disk-mb.`,
    { project, refusals: refusals.slice(0, 1000).map((refusal) => ({ ...refusal })), ghostServers: ghosts },
  );
}
