import * as z from 'zod';
import { AllocationsAllocate, DEFAULT_MIN_DISK_MB, DEFAULT_MIN_RAM_MB, DEFAULT_MODULE, DISK_MB_BOUNDS, RAM_MB_BOUNDS } from '../../protocol/allocations.js';
import { lazySchema } from '../../protocol/lazySchema.js';
import { type ServerInfo, ServersList, ServersShow, describeProxy } from '../../protocol/servers.js';
import { ADDRESSES_HIDDEN_NOTE } from '../addresses.js';
import { blocks, bullets, fields } from '../format.js';
import { type AddressView, defineTool } from '../tool.js';
import { projectProperty } from './fields.js';
import { listAll } from '../paging.js';

function describeServer(server: ServerInfo, addresses: AddressView): string {
  // Free and total come from the same health check; before one, only the provider's (or the human's) total is known.
  const ram =
    server.ramMb === null
      ? undefined
      : `${server.availableRamMb === null ? `${server.ramMb} MB total (free not measured yet)` : `${server.availableRamMb} of ${server.ramMb} MB free`}, ` +
        `${server.reservedRamMb} MB reserved by allocations`;
  // The SSH port is how the server is reached, not a port a module could take: it is listed only with addresses.
  const ports = addresses.shown ? server.listeningPorts : server.listeningPorts.filter((port) => port !== server.sshPort);
  const details = [
    `status ${server.status}`,
    addresses.shown ? `host ${server.host}` : undefined,
    addresses.shown ? `ssh ${server.sshUser}@${server.host}:${server.sshPort}` : undefined,
    ram === undefined ? undefined : `RAM ${ram}`,
    server.availableDiskMb === null ? undefined : `disk ${server.availableDiskMb} MB free`,
    `${server.services} service(s)`,
    ports.length === 0 ? undefined : `ports in use ${ports.join(', ')}`,
    server.labels.length === 0 ? undefined : `labels ${server.labels.join(', ')}`,
    server.provider === null ? undefined : `provider ${server.provider}`,
    // State, version and domain count only: the proxy's error can name addresses, and domains are listed per project.
    server.proxy === undefined || server.proxy.state === 'not-installed' ? undefined : describeProxy(server.proxy),
    addresses.shown && server.proxy?.error ? `proxy error: ${server.proxy.error}` : undefined,
    server.lastCheckError === null ? undefined : `last check failed: ${server.lastCheckError}`,
  ].filter((part): part is string => part !== undefined);
  return `${server.handle}: ${details.join('; ')}`;
}

/** `zavhoz_list_managed_servers`: the servers automation may use. Ghost servers (personal machines) never appear. */
export const listManagedServersTool = defineTool({
  name: 'zavhoz_list_managed_servers',
  title: 'List Managed Servers',
  description:
    'List the servers Zavhoz manages and may deploy to: handle, status, free RAM and disk, number of services, ports in use, labels. ' +
    'Servers are named by handle; their addresses are shown only if the human allows it. Personal machines the human marked as ghosts are never listed. Read-only.',
  inputSchema: {
    type: 'object',
    properties: { label: { type: 'string', description: 'Only servers with this label.' } },
    additionalProperties: false,
  },
  hints: { readOnlyHint: true, openWorldHint: false },
  mode: 'read-only',
  handleArguments: [],
  input: lazySchema(() => z.strictObject({ label: z.string().max(64).optional() })),
  async run(input, call) {
    const servers = await listAll(call, ServersList, {}, (page) => page.servers);
    // The daemon lists managed servers only; filtering again keeps a ghost out even if that ever changed.
    const managed = servers.filter((server) => server.managed && (input.label === undefined || server.labels.includes(input.label)));
    const heading = `${managed.length} managed server(s)${input.label === undefined ? '' : ` with label ${input.label}`}:`;
    const addresses = await call.addresses();
    return blocks(
      `${heading}\n${bullets(managed.map((server) => describeServer(server, addresses)), '- none: the human adds servers in the Zavhoz Servers view or with `zavhoz server add`')}`,
      !addresses.shown && managed.length > 0 && `note: ${ADDRESSES_HIDDEN_NOTE}.`,
    );
  },
});

/** `zavhoz_allocate`: places a project's modules on one managed server with free ports; calling it again changes nothing. */
export const allocateTool = defineTool({
  name: 'zavhoz_allocate',
  title: 'Allocate Server and Ports',
  description:
    `Reserve a managed server and a free port for each module of a project (default module "${DEFAULT_MODULE}"). Idempotent: a project that is ` +
    'already allocated keeps its server and ports. Answers with the server\'s handle and each module\'s port.',
  inputSchema: {
    type: 'object',
    properties: {
      project: projectProperty(false),
      modules: { type: 'array', items: { type: 'string' }, description: `Module names, e.g. ["backend", "worker"]. Default: ["${DEFAULT_MODULE}"].` },
      minRamMb: { type: 'integer', minimum: RAM_MB_BOUNDS.min, maximum: RAM_MB_BOUNDS.max, description: `RAM each new module reserves, in MB. Default ${DEFAULT_MIN_RAM_MB}.` },
      minDiskMb: { type: 'integer', minimum: DISK_MB_BOUNDS.min, maximum: DISK_MB_BOUNDS.max, description: `Free disk the server needs, in MB. Default ${DEFAULT_MIN_DISK_MB}.` },
    },
    required: ['project'],
    additionalProperties: false,
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  mode: 'deploy',
  handleArguments: [],
  // The tool takes exactly what `allocations/allocate` takes, with its rules and defaults.
  input: lazySchema(() => AllocationsAllocate.params),
  async run(input, call) {
    const result = await call.request(AllocationsAllocate, input);
    const addresses = await call.addresses();
    const host = addresses.shown ? (await call.request(ServersShow, { handle: result.server })).host : undefined;
    const modules = result.allocations.map(
      (allocation) =>
        `${allocation.module}: port ${allocation.port}, ${allocation.ramMb} MB RAM reserved${result.created.includes(allocation.module) ? ' (new)' : ''}` +
        (allocation.flags.length > 0 ? `, attention: ${allocation.flags.join(', ')}` : ''),
    );
    return blocks(
      fields([
        ['project', result.project],
        ['server', result.server],
        ['host', host],
        ['status', result.created.length > 0 ? `allocated ${result.created.join(', ')}` : 'already allocated, nothing changed'],
      ]),
      `modules:\n${bullets(modules)}`,
    );
  },
});
