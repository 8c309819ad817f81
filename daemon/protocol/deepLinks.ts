/**
 * Deep links into the VS Code extension: `vscode://zavhoz.zavhoz/run/ID`, `…/secret/HANDLE`, `…/server/HANDLE`. The
 * daemon puts them in notifications and the CLI opens them (`--open`); the extension's URI handler reads them. A link
 * names ids and handles only, never a value.
 */

/** What a link opens: a run (a `run_…` id, or an `apr_…` id of a run waiting for approval), a secret or a server. */
export type DeepLink =
  | { readonly kind: 'run'; readonly id: string }
  | { readonly kind: 'secret'; readonly handle: string }
  | { readonly kind: 'server'; readonly handle: string };

/** The extension's id (`publisher.name` of package.json), which VS Code puts in its links' authority. */
export const EXTENSION_ID = 'zavhoz.zavhoz';

/** The link that opens a run's log, a secret or a server: `vscode://zavhoz.zavhoz/run/ID`. */
export function deepLink(link: DeepLink, scheme = 'vscode'): string {
  const value = link.kind === 'run' ? link.id : link.handle;
  return `${scheme}://${EXTENSION_ID}/${link.kind}/${encodeURIComponent(value)}`;
}
