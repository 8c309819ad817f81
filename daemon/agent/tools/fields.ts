import path from 'node:path';
import { type Allocation, AllocationsList } from '../../protocol/allocations.js';
import { EnvPlanRequest } from '../../protocol/env.js';
import { lazySchema } from '../../protocol/lazySchema.js';
import { ServersShow } from '../../protocol/servers.js';
import { ToolRefusal, type JsonSchemaProperty, type ToolCall } from '../tool.js';
import { listAll } from '../paging.js';

/**
 * Argument rules and look-ups several tools share. The zod rules are the protocol's own (so a bad argument is
 * answered before any request, in the daemon's words), and the JSON schema properties describe them to the model.
 */

/** The protocol's folder rule, and absolute: a relative path would be read from wherever the daemon runs. */
export const folderArgument = lazySchema(() => EnvPlanRequest.params.shape.folder.refine((folder) => path.isAbsolute(folder), 'an absolute path of the project folder'));

/** JSON schema of the `project` argument. */
export function projectProperty(lowercase: boolean): JsonSchemaProperty {
  return {
    type: 'string',
    description: lowercase
      ? 'Project name: lowercase letters, digits, "_" or "-" (it names the server folder /opt/services/<project>).'
      : 'Project name: letters, digits, ".", "_" or "-".',
  };
}

/** JSON schema of the optional `folder` argument. */
export const folderProperty: JsonSchemaProperty = {
  type: 'string',
  description: 'Absolute path of the project folder on this machine (with .env.example and infra/compose files). Default: the open workspace folder.',
};

/** JSON schema of a `bindings` argument. */
export const bindingsProperty: JsonSchemaProperty = {
  type: 'object',
  description:
    'Variable name → vault handle (sec_ and 8 characters) for user variables whose secret has another name. Handles only: never a value.',
  additionalProperties: { type: 'string' },
};

/** The project folder of a call: the argument, else the front end's default, else a refusal saying what to pass. */
export function folderOf(input: { readonly folder?: string | undefined }, call: ToolCall): string {
  const folder = input.folder ?? call.environment.defaults.folder;
  if (!folder) throw new ToolRefusal('No project folder: pass "folder", the absolute path of the project folder on this machine.');
  return folder;
}

/** The repository of a call: the argument, else the workspace's GitHub remote, else a refusal. */
export function repositoryOf(input: { readonly repository?: string | undefined }, call: ToolCall): string {
  const repository = input.repository ?? call.environment.defaults.repository;
  if (!repository) throw new ToolRefusal('No GitHub repository: pass "repository" as owner/name.');
  return repository;
}

/** Where a project is allocated: its first module's server and port, with the server's host. */
export interface Placement {
  readonly server: string;
  readonly host: string;
  readonly port: number;
  readonly allocations: readonly Allocation[];
}

/** The project's current placement, or undefined when it has no allocation yet. Reads only. */
export async function placementOf(project: string, call: ToolCall): Promise<Placement | undefined> {
  const allocations = await listAll(call, AllocationsList, { project }, (page) => page.allocations);
  const first = allocations[0];
  if (!first) return undefined;
  const server = await call.request(ServersShow, { handle: first.server });
  return { server: first.server, host: server.host, port: first.port, allocations };
}

/** Markdown escaping for names shown in VS Code confirmations. */
export function markdownCode(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
