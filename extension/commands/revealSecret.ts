import crypto from 'node:crypto';
import * as vscode from 'vscode';
import { SecretsReveal } from '../../daemon/protocol/secrets.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { secretFromArgument } from './secretPickers.js';

/** How long a revealed value may stay on the clipboard before Zavhoz clears it (if it is still there). */
const CLIPBOARD_SECONDS = 45;

function digest(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/**
 * `zavhoz.secret.reveal`: after a modal confirmation (and an audit entry in the daemon), shows the value once in
 * a modal dialog or copies it to the clipboard. It never reaches a tree, the log, or a notification that stays
 * in the notification centre. A copied value is cleared after {@link CLIPBOARD_SECONDS} unless replaced; only
 * its hash is remembered for that check.
 */
export function registerRevealSecret(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.revealSecret, async (argument: unknown) => {
    const secret = await secretFromArgument(services, argument, 'Secret to reveal');
    if (!secret) return;
    const copy = 'Copy to Clipboard';
    const show = 'Show Once';
    const choice = await vscode.window.showWarningMessage(
      `Reveal the value of ${secret.name} (${secret.handle})?`,
      { modal: true, detail: 'The reveal is written to the audit log. Anyone watching your screen or clipboard will see it.' },
      copy,
      show,
    );
    if (choice !== copy && choice !== show) return;
    const revealed = await services.connection.request(SecretsReveal, { handle: secret.handle, confirm: true });
    services.log.info(`revealed ${revealed.name} (${revealed.handle}) by ${choice === copy ? 'clipboard' : 'dialog'}`);
    if (choice === copy) {
      await vscode.env.clipboard.writeText(revealed.value);
      const hash = digest(revealed.value);
      setTimeout(() => {
        void vscode.env.clipboard.readText().then((current) => {
          if (digest(current) === hash) void vscode.env.clipboard.writeText('');
        });
      }, CLIPBOARD_SECONDS * 1000).unref();
      void vscode.window.setStatusBarMessage(`$(clippy) ${revealed.name} copied; cleared in ${CLIPBOARD_SECONDS} s`, 5000);
      return;
    }
    // A modal is gone once dismissed: nothing of it stays in the notification centre.
    const copyFromDialog = 'Copy';
    const again = await vscode.window.showInformationMessage(
      `${revealed.name} (${revealed.handle})`,
      { modal: true, detail: revealed.passphrase === undefined ? revealed.value : `${revealed.value}\n\nPassphrase: ${revealed.passphrase}` },
      copyFromDialog,
    );
    if (again === copyFromDialog) await vscode.env.clipboard.writeText(revealed.value);
  });
}
