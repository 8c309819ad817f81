import * as vscode from 'vscode';
import { isResponseError } from '../../daemon/client/client.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { ServersRemove } from '../../daemon/protocol/servers.js';
import { errorMessage } from '../model/errors.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { serverFromArgument } from './pickers.js';
import { registerCommand } from './register.js';

/** `zavhoz.server.remove`: forgets a server after a modal confirmation; allocations on it need a second yes. */
export function registerRemoveServer(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.removeServer, async (argument: unknown) => {
    const server = await serverFromArgument(services, argument, { placeHolder: 'Server to remove from Zavhoz', includeGhosts: true });
    if (!server) return;
    const remove = 'Remove';
    const confirmed = await vscode.window.showWarningMessage(
      `Remove ${server.handle} (${server.host}) from Zavhoz?`,
      { modal: true, detail: 'The machine itself is not touched; Zavhoz only forgets it.' },
      remove,
    );
    if (confirmed !== remove) return;
    let result;
    try {
      result = await services.connection.request(ServersRemove, { handle: server.handle });
    } catch (error) {
      if (!isResponseError(error, ErrorCodes.Conflict) && !isResponseError(error, ErrorCodes.PreconditionFailed)) throw error;
      const force = 'Remove and Release Allocations';
      const choice = await vscode.window.showWarningMessage(errorMessage(error), { modal: true }, force);
      if (choice !== force) return;
      result = await services.connection.request(ServersRemove, { handle: server.handle, force: true });
    }
    const released = result.releasedAllocations > 0 ? ` and released ${result.releasedAllocations} allocations` : '';
    void vscode.window.showInformationMessage(`Zavhoz: removed ${result.removed}${released}.`);
  });
}
