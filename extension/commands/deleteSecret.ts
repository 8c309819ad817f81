import * as vscode from 'vscode';
import { SecretsDelete } from '../../daemon/protocol/secrets.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { secretFromArgument } from './secretPickers.js';

/** `zavhoz.secret.delete`: removes the value from the keychain and the metadata, after a modal confirmation. */
export function registerDeleteSecret(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.deleteSecret, async (argument: unknown) => {
    const secret = await secretFromArgument(services, argument, 'Secret to delete');
    if (!secret) return;
    const remove = 'Delete';
    const choice = await vscode.window.showWarningMessage(
      `Delete ${secret.name} (${secret.handle})?`,
      { modal: true, detail: 'The value is removed from the OS keychain. Deploys that use this handle will stop until you bind another secret.' },
      remove,
    );
    if (choice !== remove) return;
    const deleted = await services.connection.request(SecretsDelete, { handle: secret.handle });
    void vscode.window.setStatusBarMessage(`$(trash) Deleted ${deleted.name}`, 4000);
  });
}
