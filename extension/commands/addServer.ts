import * as vscode from 'vscode';
import { DEFAULT_SSH_PORT, DEFAULT_SSH_USER, ServersAdd } from '../../daemon/protocol/servers.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { fieldValidator, integerValidator, toList } from './validate.js';
import { pickSshKeySecret } from './secretPickers.js';
import { handleFromHost } from '../model/servers.js';

const base = { handle: 'server', host: 'localhost' };

/** `zavhoz.server.add`: host, handle, SSH user/port/key and labels, then offers a health check. */
export function registerAddServer(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.addServer, async () => {
    const title = 'Add Server';
    const host = await vscode.window.showInputBox({
      title: `${title} (1/6)`,
      prompt: 'Host name or IP address the server is reached at',
      placeHolder: '203.0.113.10',
      ignoreFocusOut: true,
      validateInput: fieldValidator(ServersAdd, base, 'host'),
    });
    if (!host) return;
    const handle = await vscode.window.showInputBox({
      title: `${title} (2/6)`,
      prompt: 'Handle: the name Zavhoz, the CLI and deploys use for this server',
      value: handleFromHost(host.trim()),
      ignoreFocusOut: true,
      validateInput: fieldValidator(ServersAdd, base, 'handle'),
    });
    if (!handle) return;
    const sshUser = await vscode.window.showInputBox({
      title: `${title} (3/6)`,
      prompt: 'SSH user',
      value: DEFAULT_SSH_USER,
      ignoreFocusOut: true,
      validateInput: fieldValidator(ServersAdd, base, 'sshUser'),
    });
    if (!sshUser) return;
    const sshPort = await vscode.window.showInputBox({
      title: `${title} (4/6)`,
      prompt: 'SSH port',
      value: String(DEFAULT_SSH_PORT),
      ignoreFocusOut: true,
      validateInput: integerValidator(ServersAdd, base, 'sshPort'),
    });
    if (!sshPort) return;
    const key = await pickSshKeySecret(services, `${title} (5/6)`);
    if (key === undefined) return;
    const labels = await vscode.window.showInputBox({
      title: `${title} (6/6)`,
      prompt: 'Labels, separated by commas (optional; the Servers view can be filtered by label)',
      placeHolder: 'web, eu',
      ignoreFocusOut: true,
      validateInput: fieldValidator(ServersAdd, base, 'labels', toList),
    });
    if (labels === undefined) return;
    const server = await services.connection.request(ServersAdd, {
      handle: handle.trim(),
      host: host.trim(),
      sshUser: sshUser.trim(),
      sshPort: Number(sshPort.trim()),
      labels: toList(labels),
      ...(key.handle ? { sshKeySecret: key.handle } : {}),
    });
    services.log.info(`added server ${server.handle} (${server.host})`);
    const choice = await vscode.window.showInformationMessage(`Added server ${server.handle}. Check that it answers now?`, 'Check Health');
    if (choice === 'Check Health') await vscode.commands.executeCommand(CommandIds.checkServerHealth, server.handle);
  });
}
