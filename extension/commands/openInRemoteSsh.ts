import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { type RemoteHandedOff, RemoteHandoff } from '../../daemon/protocol/remote.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { CommandIds } from '../commandIds.js';
import { ContextKeys } from '../contextKeys.js';
import { REMOTE_SSH_EXTENSIONS, handoffSummary, includeLine, includeQuestion, includeTarget, remoteAuthority, sshArguments } from '../model/remoteSsh.js';
import type { ExtensionServices } from '../services.js';
import { serverFromArgument, withProgress } from './pickers.js';
import { registerCommand } from './register.js';

/**
 * Remembers which SSH config the person let Zavhoz add its Include line to (`true`, from before the choice of file:
 * ~/.ssh/config); a changed `remote.SSH.configFile` is asked about again.
 */
const INCLUDE_CONSENT_KEY = 'zavhoz.remoteSsh.includeConsent';

/** The SSH config Remote-SSH reads, from its `remote.SSH.configFile` setting. */
function remoteSshConfigTarget(): ReturnType<typeof includeTarget> {
  return includeTarget(vscode.workspace.getConfiguration('remote.SSH').get<unknown>('configFile'), os.homedir(), path.sep === '\\' ? '\\' : '/');
}

function remoteSshInstalled(): boolean {
  return REMOTE_SSH_EXTENSIONS.some((id) => vscode.extensions.getExtension(id) !== undefined);
}

/** The daemon loads the server's key into the agent (this window's, else Zavhoz's own) and writes the alias. */
function handOff(
  services: ExtensionServices,
  server: ServerInfo,
  target: { readonly file: string; readonly fromSetting: boolean } | undefined,
  include: boolean,
): Thenable<RemoteHandedOff> {
  const agentSocket = process.env['SSH_AUTH_SOCK'];
  return withProgress(`Zavhoz: loading the key of ${server.handle} into ssh-agent…`, (token) =>
    services.connection.request(
      RemoteHandoff,
      {
        server: server.handle,
        includeInUserConfig: include,
        ...(target?.fromSetting === true ? { userConfigFile: target.file } : {}),
        ...(agentSocket ? { agentSocket } : {}),
      },
      token,
    ),
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
    const target = remoteSshConfigTarget();
    if ('problem' in target) {
      void vscode.window.showWarningMessage(`Zavhoz: ${target.problem}`);
      return;
    }
    const consent = context.globalState.get<unknown>(INCLUDE_CONSENT_KEY);
    let handed = await handOff(services, server, target, consent === target.file || (consent === true && !target.fromSetting));
    // The daemon says whether that config includes Zavhoz's hosts (added earlier, by Zavhoz or by hand).
    if (!handed.includedInUserConfig) {
      const choice = await vscode.window.showInformationMessage(includeQuestion(target), { modal: true }, 'Add Include Line', 'Show the Line');
      if (choice === undefined) return;
      if (choice === 'Show the Line') {
        const line = includeLine(handed.configFile);
        const copy = await vscode.window.showInformationMessage(`Zavhoz: add this line at the top of ${target.file}, then open ${server.handle} again: ${line}`, 'Copy Include Line');
        if (copy) await vscode.env.clipboard.writeText(line);
        return;
      }
      await context.globalState.update(INCLUDE_CONSENT_KEY, target.file);
      handed = await handOff(services, server, target, true);
    }
    services.log.info(`remote-ssh: ${handed.server} handed off as ${handed.alias} until ${handed.expiresAt}`);
    void vscode.window.showInformationMessage(`Zavhoz: ${handoffSummary(handed)}`);
    await vscode.commands.executeCommand('vscode.newWindow', { remoteAuthority: remoteAuthority(handed.alias), reuseWindow: false });
  });

  registerCommand(context, services.log, CommandIds.openSystemSshTerminal, async (argument: unknown) => {
    const server = await serverFromArgument(services, argument, { placeHolder: 'Server to open with the system ssh' });
    if (!server) return;
    const handed = await handOff(services, server, undefined, false);
    services.log.info(`system ssh: ${handed.server} handed off as ${handed.alias} until ${handed.expiresAt}`);
    const terminal = vscode.window.createTerminal({ name: `ssh ${handed.alias}`, shellPath: 'ssh', shellArgs: sshArguments(handed), iconPath: new vscode.ThemeIcon('remote') });
    terminal.show();
  });
}
