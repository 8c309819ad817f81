import { invalidInput } from '../core/errors.js';
import type { ExecSecretValue } from '../protocol/exec.js';
import type { SecretMetadata } from '../protocol/secretFields.js';
import type { SecretReader } from '../vault/api.js';

/** What `resolveExecSecrets` needs of the vault: the list of secrets and a loan of each value. */
export interface ExecVault extends Pick<SecretReader, 'withValue'> {
  list(filter: { project?: string | undefined }): Promise<SecretMetadata[]>;
}

/** Which secrets a command asks for, and the command line (for the audit). */
export interface ExecRequest {
  readonly project?: string | undefined;
  readonly secrets: readonly { readonly name: string; readonly handle: string }[];
  readonly command: readonly string[];
}

/**
 * The values a command run by `zavhoz exec` gets, by variable name: every secret of `project` under its own name
 * (global secrets only when named), then the `NAME=HANDLE` pairs, which win over a project secret of the same name.
 * Each loan is audited by the vault as `exec`, with the command line and the project.
 */
export async function resolveExecSecrets(vault: ExecVault, request: ExecRequest, caller: { client: string; requestId: string }): Promise<ExecSecretValue[]> {
  const chosen = new Map<string, string>();
  if (request.project !== undefined) {
    for (const secret of await vault.list({ project: request.project })) {
      if (secret.project === request.project) chosen.set(secret.name, secret.handle);
    }
  }
  const named = new Set<string>();
  for (const pair of request.secrets) {
    if (named.has(pair.name)) throw invalidInput(`${pair.name} is given twice; name each variable once.`);
    named.add(pair.name);
    chosen.set(pair.name, pair.handle);
  }
  const detail = { command: [...request.command], ...(request.project === undefined ? {} : { project: request.project }) };
  const values: ExecSecretValue[] = [];
  for (const [name, handle] of chosen) {
    const use = { client: caller.client, requestId: caller.requestId, action: 'exec', detail: { ...detail, variable: name } };
    values.push(await vault.withValue(handle, use, (value) => ({ name, handle, value })));
  }
  return values;
}
