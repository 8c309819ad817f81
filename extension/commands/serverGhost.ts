import * as vscode from 'vscode';
import { ServersGhost, ServersManage } from '../../daemon/protocol/servers.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { isResponseError } from '../../daemon/client/client.js';
import { errorMessage } from '../model/errors.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { serverFromArgument } from './pickers.js';
import { registerCommand } from './register.js';

/**
 * `zavhoz.server.markGhost` and `zavhoz.server.unmarkGhost` ("Manage"): a ghost server is a personal machine
 * Zavhoz keeps on record but never offers to automation. Marking one that hosts allocations asks first.
 */
export function registerServerGhost(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.markServerGhost, async (argument: unknown) => {
    const server = await serverFromArgument(services, argument, { placeHolder: 'Server to mark as a ghost (not managed)' });
    if (!server) return;
    try {
      await services.connection.request(ServersGhost, { handle: server.handle });
    } catch (error) {
      if (!isResponseError(error, ErrorCodes.Conflict) && !isResponseError(error, ErrorCodes.PreconditionFailed)) throw error;
      const force = 'Mark as Ghost and Release';
      const choice = await vscode.window.showWarningMessage(errorMessage(error), { modal: true }, force);
      if (choice !== force) return;
      await services.connection.request(ServersGhost, { handle: server.handle, force: true });
    }
    void vscode.window.showInformationMessage(`Zavhoz: ${server.handle} is a ghost now; "Show Ghost Servers" lists it.`);
  });
  registerCommand(context, services.log, CommandIds.unmarkServerGhost, async (argument: unknown) => {
    const server = await serverFromArgument(services, argument, { placeHolder: 'Ghost server to manage again', includeGhosts: true });
    if (!server) return;
    await services.connection.request(ServersManage, { handle: server.handle });
    void vscode.window.showInformationMessage(`Zavhoz: ${server.handle} is managed again.`);
  });
}
