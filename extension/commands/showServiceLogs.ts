import * as vscode from 'vscode';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { ServiceLogsTerminal } from '../terminal/serviceLogsTerminal.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { serviceTarget, targetName } from './servicePickers.js';

/** `zavhoz.service.showLogs`: a terminal that follows a project's (or one service's) logs, every vault value masked. */
export function registerShowServiceLogs(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): void {
  registerCommand(context, services.log, CommandIds.showServiceLogs, async (argument: unknown) => {
    const target = await serviceTarget(argument, tracker, { placeHolder: 'Logs of', servicesToo: true, deployedOnly: true });
    if (!target) return;
    const client = await services.connection.client();
    const terminal = vscode.window.createTerminal({
      name: `Logs ${targetName(target)}`,
      pty: new ServiceLogsTerminal(client, target.project, target.module, services.log),
      iconPath: new vscode.ThemeIcon('output'),
      isTransient: true,
    });
    terminal.show();
  });
}
