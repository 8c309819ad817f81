import * as vscode from 'vscode';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { serviceTarget } from './servicePickers.js';

/** `zavhoz.service.openUrl`: opens the URL a service answers on in the browser. */
export function registerOpenServiceUrl(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): void {
  registerCommand(context, services.log, CommandIds.openServiceUrl, async (argument: unknown) => {
    const target = await serviceTarget(argument, tracker, { placeHolder: 'Service to open', servicesToo: true, deployedOnly: true });
    if (!target) return;
    if (!target.url) {
      void vscode.window.showInformationMessage(`Zavhoz: ${target.project}${target.module ? `/${target.module}` : ''} publishes no port.`);
      return;
    }
    await vscode.env.openExternal(vscode.Uri.parse(target.url));
  });
}
