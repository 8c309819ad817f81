import * as vscode from 'vscode';
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
          if (link.kind === 'run') return await logs.show(link.id);
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
