import * as vscode from 'vscode';
import { SecretsRotate } from '../../daemon/protocol/secrets.js';
import type { ExtensionServices } from '../services.js';
import { rotationDraft, SecretFormPanel } from '../webviews/secretForm.js';
import { CommandIds } from '../commandIds.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';
import { secretFromArgument } from './secretPickers.js';
import { askSecretValue } from './secretInput.js';

/**
 * `zavhoz.secret.rotate`: a generated secret gets a new generated value; a typed password or token gets a new
 * masked value; multi-line text and keys go through the secret form. The old value is kept until the next
 * successful deploy.
 */
export function registerRotateSecret(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.rotateSecret, async (argument: unknown) => {
    const secret = await secretFromArgument(services, argument, 'Secret to rotate');
    if (!secret) return;
    if (secret.origin === 'generated') {
      const rotate = 'Generate New Value';
      const choice = await vscode.window.showWarningMessage(
        `Rotate ${secret.name} (${secret.handle})?`,
        { modal: true, detail: 'Zavhoz generates a new value. Deployed services keep the old one until you deploy again.' },
        rotate,
      );
      if (choice !== rotate) return;
      const rotated = await withProgress(`Zavhoz: rotating ${secret.name}…`, (token) => services.connection.request(SecretsRotate, { handle: secret.handle }, token));
      void vscode.window.showInformationMessage(`Zavhoz: rotated ${rotated.name}. Deploy again to use the new value.`);
      return;
    }
    if (secret.type === 'text' || secret.type === 'private_key') {
      SecretFormPanel.show(context, services, rotationDraft(secret));
      return;
    }
    let value = await askSecretValue({ title: `Rotate ${secret.name}`, prompt: `New value of ${secret.name} (${secret.handle})` });
    if (!value) return;
    const rotated = await services.connection.request(SecretsRotate, { handle: secret.handle, value });
    value = undefined;
    void vscode.window.showInformationMessage(`Zavhoz: rotated ${rotated.name}. Deploy again to use the new value.`);
  });
}
