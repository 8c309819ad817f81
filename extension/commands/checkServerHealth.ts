import * as vscode from 'vscode';
import { ServersAcceptHostKey, ServersCheck } from '../../daemon/protocol/servers.js';
import { describeServer } from '../model/servers.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { serverFromArgument, withProgress } from './pickers.js';
import { registerCommand } from './register.js';

/**
 * `zavhoz.server.checkHealth`: checks one server (TCP, then SSH with its vault key) and reports the outcome. A
 * changed host key is never accepted silently: the user sees both fingerprints and must confirm.
 */
export function registerCheckServerHealth(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.checkServerHealth, async (argument: unknown) => {
    const picked = await serverFromArgument(services, argument, { placeHolder: 'Server to check' });
    if (!picked) return;
    const server = await withProgress(`Zavhoz: checking ${picked.handle}…`, (token) =>
      services.connection.request(ServersCheck, { handle: picked.handle }, token),
    );
    if (server.offeredHostKeyFingerprint) {
      const accept = 'Trust the New Key';
      const choice = await vscode.window.showWarningMessage(
        `${server.handle} presented a different SSH host key than the one pinned.`,
        {
          modal: true,
          detail: `Pinned: ${server.hostKeyFingerprint ?? 'none'}\nOffered: ${server.offeredHostKeyFingerprint}\n\nOnly trust it if you reinstalled the server or know why its key changed.`,
        },
        accept,
      );
      if (choice === accept) {
        await services.connection.request(ServersAcceptHostKey, { handle: server.handle });
        void vscode.window.showInformationMessage(`Zavhoz: ${server.handle} now trusts ${server.offeredHostKeyFingerprint}. Check it again to confirm.`);
      }
      return;
    }
    if (server.lastCheckError) {
      void vscode.window.showWarningMessage(`Zavhoz: ${server.handle} is ${server.status.replace('_', ' ')}: ${server.lastCheckError}`);
      return;
    }
    void vscode.window.showInformationMessage(`Zavhoz: ${server.handle} is ${server.status.replace('_', ' ')} — ${describeServer(server)}.`);
  });
}
