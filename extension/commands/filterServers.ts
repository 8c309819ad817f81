import * as vscode from 'vscode';
import type { ExtensionServices } from '../services.js';
import type { ServersProvider } from '../views/serversView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** `zavhoz.server.filter` / `zavhoz.server.clearFilter`: narrows the Servers view to one label. */
export function registerFilterServers(context: vscode.ExtensionContext, services: ExtensionServices, servers: ServersProvider): void {
  registerCommand(context, services.log, CommandIds.filterServers, async () => {
    const labels = servers.knownLabels;
    if (labels.length === 0) {
      void vscode.window.showInformationMessage('Zavhoz: no server has a label yet (set them with Add Server… or `zavhoz server update`).');
      return;
    }
    const current = servers.labelFilter;
    const picked = await vscode.window.showQuickPick(
      labels.map((label) => ({ label, ...(label === current ? { description: 'current filter' } : {}) })),
      { placeHolder: 'Show only servers with this label' },
    );
    if (picked) await servers.setLabelFilter(picked.label);
  });
  registerCommand(context, services.log, CommandIds.clearServerFilter, () => servers.setLabelFilter(undefined));
}
