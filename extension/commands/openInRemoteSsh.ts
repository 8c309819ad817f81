import * as vscode from 'vscode';
import { type RemoteHandedOff, RemoteHandoff } from '../../daemon/protocol/remote.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { CommandIds } from '../commandIds.js';
import { ContextKeys } from '../contextKeys.js';
import { INCLUDE_QUESTION, REMOTE_SSH_EXTENSIONS, handoffSummary, remoteAuthority, sshArguments } from '../model/remoteSsh.js';
import type { ExtensionServices } from '../services.js';
import { serverFromArgument, withProgress } from './pickers.js';
import { registerCommand } from './register.js';

/** Remembers that the person let Zavhoz add its Include line to ~/.ssh/config. */
const INCLUDE_CONSENT_KEY = 'zavhoz.remoteSsh.includeConsent';

function remoteSshInstalled(): boolean {
  return REMOTE_SSH_EXTENSIONS.some((id) => vscode.extensions.getExtension(id) !== undefined);
}

/** The daemon loads the server's key into the agent (this window's, else Zavhoz's own) and writes the alias. */
function handOff(services: ExtensionServices, server: ServerInfo, includeInUserConfig: boolean): Thenable<RemoteHandedOff> {
  const agentSocket = process.env['SSH_AUTH_SOCK'];
  return withProgress(`Zavhoz: loading the key of ${server.handle} into ssh-agent…`, (token) =>
    services.connection.request(RemoteHandoff, { server: server.handle, includeInUserConfig, ...(agentSocket ? { agentSocket } : {}) }, token),
  );
}

/**
 * `zavhoz.server.openInRemoteSsh` (shown when Remote-SSH is installed) and `zavhoz.server.openSystemSshTerminal`: a
 * managed server opened by the user's own SSH client, with its key from the vault in an ssh-agent for a while, never
 * in a file. The context key `zavhoz.remoteSshInstalled` follows extensions being installed and removed.
 */
export function registerOpenInRemoteSsh(context: vscode.ExtensionContext, services: ExtensionServices): void {
  const track = (): void => void vscode.commands.executeCommand('setContext', ContextKeys.remoteSshInstalled, remoteSshInstalled());
  track();
  context.subscriptions.push(vscode.extensions.onDidChange(track));

  registerCommand(context, services.log, CommandIds.openInRemoteSsh, async (argument: unknown) => {
    if (!remoteSshInstalled()) {
      const choice = await vscode.window.showInformationMessage('Opening a server in a remote window needs the Remote - SSH extension.', 'Show Remote - SSH');
      if (choice) await vscode.commands.executeCommand('workbench.extensions.search', REMOTE_SSH_EXTENSIONS[0]);
      return;
    }
    const server = await serverFromArgument(services, argument, { placeHolder: 'Server to open in Remote-SSH' });
    if (!server) return;
    let consent = context.globalState.get<boolean>(INCLUDE_CONSENT_KEY, false);
    if (!consent) {
      const choice = await vscode.window.showInformationMessage(INCLUDE_QUESTION, { modal: true }, 'Add Include Line');
      if (choice !== 'Add Include Line') return;
      consent = true;
      await context.globalState.update(INCLUDE_CONSENT_KEY, true);
    }
    const handed = await handOff(services, server, consent);
    services.log.info(`remote-ssh: ${handed.server} handed off as ${handed.alias} until ${handed.expiresAt}`);
    void vscode.window.showInformationMessage(`Zavhoz: ${handoffSummary(handed)}`);
    await vscode.commands.executeCommand('vscode.newWindow', { remoteAuthority: remoteAuthority(handed.alias), reuseWindow: false });
  });

  registerCommand(context, services.log, CommandIds.openSystemSshTerminal, async (argument: unknown) => {
    const server = await serverFromArgument(services, argument, { placeHolder: 'Server to open with the system ssh' });
    if (!server) return;
    const handed = await handOff(services, server, false);
    services.log.info(`system ssh: ${handed.server} handed off as ${handed.alias} until ${handed.expiresAt}`);
    const terminal = vscode.window.createTerminal({ name: `ssh ${handed.alias}`, shellPath: 'ssh', shellArgs: sshArguments(handed), iconPath: new vscode.ThemeIcon('remote') });
    terminal.show();
  });
}
