import path from 'node:path';
import { z } from 'zod';
import { type Allocation, AllocationsList } from '../../protocol/allocations.js';
import { ServersShow } from '../../protocol/servers.js';
import { ToolRefusal, type JsonSchemaProperty, type ToolCall } from '../tool.js';

/**
 * Argument rules and look-ups several tools share. The zod rules repeat the daemon's own (so a bad argument is
 * answered before any request), and the JSON schema properties describe them to the model.
 */

/** A project name as allocations, secrets and GitHub use it. */
export const projectArgument = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a project name (letters, digits, . _ -)');

/** A project name as deploys use it (it names the compose project, which must be lowercase). */
export const deployProjectArgument = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a project name of lowercase letters, digits, "_" or "-"');

/** An absolute folder path on this machine. */
export const folderArgument = z
  .string()
  .min(1)
  .max(4096)
  .refine((folder) => path.isAbsolute(folder), 'an absolute path of the project folder');

/** `OWNER/NAME` of a GitHub repository. */
export const repositoryArgument = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, 'a GitHub repository like owner/name');

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
  const { allocations } = await call.request(AllocationsList, { project });
  const first = allocations[0];
  if (!first) return undefined;
  const server = await call.request(ServersShow, { handle: first.server });
  return { server: first.server, host: server.host, port: first.port, allocations };
}

/** Markdown escaping for names shown in VS Code confirmations. */
export function markdownCode(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
