import * as vscode from 'vscode';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** `zavhoz.service.refresh`: reads every project's container status again now (one SSH round trip per server). */
export function registerRefreshServices(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): void {
  registerCommand(context, services.log, CommandIds.refreshServices, async () => {
    const snapshot = await vscode.window.withProgress({ location: { viewId: 'zavhoz.services' } }, () => tracker.load());
    if (snapshot.kind === 'failed') throw new Error(snapshot.error);
  });
}
