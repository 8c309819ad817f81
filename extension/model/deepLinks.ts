import { SECRET_HANDLE_PATTERN } from '../../daemon/protocol/secretFields.js';
import { runId } from '../../daemon/protocol/runs.js';
import { serverHandle } from '../../daemon/protocol/servers.js';

/**
 * Deep links into the extension: `vscode://zavhoz.zavhoz/run/ID`, `…/secret/HANDLE`, `…/server/HANDLE` (what
 * notifications and the CLI's `--open` point at). Parsed without VS Code, so every shape is unit-tested.
 */
export type DeepLink =
  | { readonly kind: 'run'; readonly id: string }
  | { readonly kind: 'secret'; readonly handle: string }
  | { readonly kind: 'server'; readonly handle: string };

/** The extension's id, which VS Code puts in its links' authority. */
export const EXTENSION_ID = 'zavhoz.zavhoz';

/** Reads a deep link's path (`/run/run_abc…`); undefined for anything else, so a bad link does nothing. */
export function parseDeepLink(path: string): DeepLink | undefined {
  const [kind, value, ...rest] = path.replace(/^\/+|\/+$/g, '').split('/');
  if (rest.length > 0 || value === undefined) return undefined;
  const decoded = safeDecode(value);
  if (decoded === undefined) return undefined;
  if (kind === 'run' && runId.safeParse(decoded).success) return { kind, id: decoded };
  if (kind === 'secret' && SECRET_HANDLE_PATTERN.test(decoded)) return { kind, handle: decoded };
  if (kind === 'server' && serverHandle.safeParse(decoded).success) return { kind, handle: decoded };
  return undefined;
}

/** The link that opens a run's log, a secret or a server: `vscode://zavhoz.zavhoz/run/ID`. */
export function deepLink(link: DeepLink, scheme = 'vscode'): string {
  const value = link.kind === 'run' ? link.id : link.handle;
  return `${scheme}://${EXTENSION_ID}/${link.kind}/${encodeURIComponent(value)}`;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
