import * as vscode from 'vscode';
import type { ExtensionServices } from '../services.js';
import { SshTerminal } from '../terminal/sshTerminal.js';
import { CommandIds } from '../commandIds.js';
import { serverFromArgument } from './pickers.js';
import { registerCommand } from './register.js';

/** `zavhoz.server.openTerminal`: an SSH terminal to a managed server, with the key kept in the daemon. */
export function registerOpenServerTerminal(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.openServerTerminal, async (argument: unknown) => {
    const server = await serverFromArgument(services, argument, { placeHolder: 'Server to open a terminal on' });
    if (!server) return;
    const client = await services.connection.client();
    const terminal = vscode.window.createTerminal({
      name: `SSH ${server.handle}`,
      pty: new SshTerminal(client, server.handle, services.log),
      iconPath: new vscode.ThemeIcon('terminal'),
    });
    terminal.show();
  });
}
