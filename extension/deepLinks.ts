import * as vscode from 'vscode';
import { RunsGet } from '../daemon/protocol/runs.js';
import { SecretsGet } from '../daemon/protocol/secrets.js';
import { CommandIds } from './commandIds.js';
import type { RunLogDocuments } from './deploy/logDocument.js';
import { parseDeepLink } from './model/deepLinks.js';
import type { ExtensionServices } from './services.js';
import type { DaemonTreeProvider, TreeNode } from './views/tree.js';

/** The trees a deep link reveals a node in. */
export interface DeepLinkViews {
  readonly secrets: DaemonTreeProvider;
  readonly servers: DaemonTreeProvider;
  readonly runs: DaemonTreeProvider;
}

/**
 * Opens what a `vscode://zavhoz.zavhoz/…` link points at: a run's log document, a secret or a server selected in
 * its view. A link that names nothing Zavhoz knows says so in one line; a malformed one is logged and ignored.
 */
export function registerDeepLinks(context: vscode.ExtensionContext, services: ExtensionServices, logs: RunLogDocuments, views: DeepLinkViews): void {
  context.subscriptions.push(
    vscode.window.registerUriHandler({
      handleUri: async (uri) => {
        const link = parseDeepLink(uri.path);
        if (!link) {
          services.log.warn(`ignored a link Zavhoz does not know: ${uri.path}`);
          return;
        }
        services.log.info(`opening ${link.kind} ${link.kind === 'run' ? link.id : link.handle} from a link`);
        try {
          if (link.kind === 'run') { await openRun(services, logs, views.runs, link.id); return; }
          const tree = link.kind === 'secret' ? views.secrets : views.servers;
          await vscode.commands.executeCommand(`zavhoz.${link.kind === 'secret' ? 'secrets' : 'servers'}.focus`);
          const id = `${link.kind}/${link.handle}`;
          if (await tree.reveal((node: TreeNode) => node.id === id)) return;
          if (link.kind === 'secret') {
            const secret = await services.connection.request(SecretsGet, { handle: link.handle });
            const choice = await vscode.window.showInformationMessage(`Zavhoz: ${secret.name} (${secret.handle})`, 'Copy Handle');
            if (choice) await vscode.commands.executeCommand(CommandIds.copySecretHandle, secret.handle);
            return;
          }
          void vscode.window.showInformationMessage(`Zavhoz: no server ${link.handle} in the Servers view (a ghost server shows after "Show Ghost Servers").`);
        } catch (error) {
          void vscode.commands.executeCommand(CommandIds.showLog);
          services.log.error(`link ${uri.path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      },
    }),
  );
}

/**
 * Opens a run's log. An approval id (`apr_…`, in an `approval.requested` message) opens the run it became once
 * approved; while it still waits, the Deploy Runs view shows it selected, with Approve and Reject.
 */
async function openRun(services: ExtensionServices, logs: RunLogDocuments, runs: DaemonTreeProvider, id: string): Promise<void> {
  if (!id.startsWith('apr_')) return logs.show(id);
  const run = await services.connection.request(RunsGet, { id });
  if (run.id !== id) return logs.show(run.id);
  await vscode.commands.executeCommand('zavhoz.runs.focus');
  if (await runs.reveal((node: TreeNode) => node.id === `run/${id}`)) return;
  void vscode.window.showInformationMessage(`Zavhoz: the ${run.kind} of ${run.project} (${id}) is ${run.status.replace('_', ' ')}${run.error ? `: ${run.error}` : '.'}`);
}
