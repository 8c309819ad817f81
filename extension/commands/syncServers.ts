import * as vscode from 'vscode';
import { ServersSync } from '../../daemon/protocol/servers.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';

/** `zavhoz.server.sync`: syncs the inventory with the configured provider and says what changed. */
export function registerSyncServers(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.syncServers, async () => {
    const result = await withProgress('Zavhoz: syncing servers from the provider…', (token) =>
      services.connection.request(ServersSync, {}, token),
    );
    const changes = [
      result.added.length > 0 ? `added ${result.added.join(', ')}` : undefined,
      result.updated.length > 0 ? `updated ${result.updated.join(', ')}` : undefined,
      result.missing.length > 0 ? `missing ${result.missing.join(', ')}` : undefined,
      result.restored.length > 0 ? `back ${result.restored.join(', ')}` : undefined,
    ].filter((part) => part !== undefined);
    const summary = `${result.provider}: ${result.total} servers${changes.length > 0 ? `; ${changes.join('; ')}` : ', nothing changed'}.`;
    services.log.info(`sync ${summary}`);
    void vscode.window.showInformationMessage(`Zavhoz: ${summary}`);
  });
}
