import * as vscode from 'vscode';
import { type ServerInfo, ServersList, ServersShow } from '../../daemon/protocol/servers.js';
import type { ExtensionServices } from '../services.js';
import { describeServer } from '../model/servers.js';
import { ServerNode } from '../views/serversView.js';
import { CommandIds } from '../commandIds.js';

/**
 * The server a command was invoked on (tree context menu, or a handle from another command), or one the user
 * picks; undefined if dismissed.
 */
export async function serverFromArgument(
  services: ExtensionServices,
  argument: unknown,
  options: { readonly placeHolder: string; readonly includeGhosts?: boolean },
): Promise<ServerInfo | undefined> {
  if (argument instanceof ServerNode) return argument.server;
  if (typeof argument === 'string') return services.connection.request(ServersShow, { handle: argument });
  const servers = await services.connection.listAll(ServersList, options.includeGhosts === undefined ? {} : { all: options.includeGhosts }, (page) => page.servers);
  if (servers.length === 0) {
    const choice = await vscode.window.showInformationMessage('Zavhoz has no servers yet.', 'Add Server…', 'Sync Servers');
    if (choice === 'Add Server…') await vscode.commands.executeCommand(CommandIds.addServer);
    if (choice === 'Sync Servers') await vscode.commands.executeCommand(CommandIds.syncServers);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    servers.map((server) => ({ label: server.name, description: server.handle, detail: describeServer(server), server })),
    { placeHolder: options.placeHolder, matchOnDescription: true, matchOnDetail: true },
  );
  return picked?.server;
}

/** Runs a daemon call behind a notification progress with a title; the call can be cancelled if it supports it. */
export function withProgress<T>(title: string, work: (token: vscode.CancellationToken) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_progress, token) => work(token));
}
