import type * as vscode from 'vscode';
import type { ExtensionServices } from '../services.js';
import type { ServersProvider } from '../views/serversView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** `zavhoz.server.showGhosts` / `zavhoz.server.hideGhosts`: the Servers view's "Show Ghost Servers" toggle. */
export function registerGhostServersToggle(context: vscode.ExtensionContext, services: ExtensionServices, servers: ServersProvider): void {
  registerCommand(context, services.log, CommandIds.showGhostServers, () => servers.setShowGhosts(true));
  registerCommand(context, services.log, CommandIds.hideGhostServers, () => servers.setShowGhosts(false));
}
