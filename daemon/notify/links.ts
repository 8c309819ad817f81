import { approvalId } from '../protocol/approvals.js';
import { deepLink } from '../protocol/deepLinks.js';
import { runId } from '../protocol/runs.js';
import { SECRET_HANDLE_PATTERN } from '../protocol/secretFields.js';
import { serverHandle } from '../protocol/servers.js';

/**
 * The `vscode://` link a message carries to what it is about, from its detail: the waiting run of an approval request,
 * the run, the secret (by handle) or the server. Undefined when the detail names none. Only ids and handles go in.
 */
export function messageLink(detail: Readonly<Record<string, string | number | boolean | null>>): string | undefined {
  const text = (key: string): string | undefined => (typeof detail[key] === 'string' ? detail[key] : undefined);
  const approval = text('approval');
  if (approval !== undefined && approvalId.safeParse(approval).success) return deepLink({ kind: 'run', id: approval });
  const run = text('run');
  if (run !== undefined && runId.safeParse(run).success) return deepLink({ kind: 'run', id: run });
  const handle = text('handle');
  if (handle !== undefined && SECRET_HANDLE_PATTERN.test(handle)) return deepLink({ kind: 'secret', handle });
  const server = text('server');
  if (server !== undefined && serverHandle.safeParse(server).success) return deepLink({ kind: 'server', handle: server });
  return undefined;
}

/** The message text with its link on a last line of its own (every channel shows it as it is). */
export function withLink(body: string, link: string | undefined): string {
  return link === undefined ? body : `${body}\nOpen in VS Code: ${link}`;
}
