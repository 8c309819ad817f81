import { approvalId } from '../../daemon/protocol/approvals.js';
import type { DeepLink } from '../../daemon/protocol/deepLinks.js';
import { SECRET_HANDLE_PATTERN } from '../../daemon/protocol/secretFields.js';
import { runId } from '../../daemon/protocol/runs.js';
import { serverHandle } from '../../daemon/protocol/servers.js';

/*
 * Deep links into the extension (what notifications and the CLI's `--open` point at), built in the protocol so the
 * daemon and the CLI make the same ones. Parsed here without VS Code, so every shape is unit-tested.
 */
export { type DeepLink, deepLink, EXTENSION_ID } from '../../daemon/protocol/deepLinks.js';

/** Reads a deep link's path (`/run/run_abc…`); undefined for anything else, so a bad link does nothing. */
export function parseDeepLink(path: string): DeepLink | undefined {
  const [kind, value, ...rest] = path.replace(/^\/+|\/+$/g, '').split('/');
  if (rest.length > 0 || value === undefined) return undefined;
  const decoded = safeDecode(value);
  if (decoded === undefined) return undefined;
  if (kind === 'run' && (runId.safeParse(decoded).success || approvalId.safeParse(decoded).success)) return { kind, id: decoded };
  if (kind === 'secret' && SECRET_HANDLE_PATTERN.test(decoded)) return { kind, handle: decoded };
  if (kind === 'server' && serverHandle.safeParse(decoded).success) return { kind, handle: decoded };
  return undefined;
}


function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
