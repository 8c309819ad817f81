import * as vscode from 'vscode';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { secretFromArgument } from './secretPickers.js';

/** `zavhoz.secret.copyHandle`: puts the secret's handle (never its value) on the clipboard. */
export function registerCopySecretHandle(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.copySecretHandle, async (argument: unknown) => {
    const secret = await secretFromArgument(services, argument, 'Secret whose handle to copy');
    if (!secret) return;
    await vscode.env.clipboard.writeText(secret.handle);
    void vscode.window.setStatusBarMessage(`$(clippy) Copied ${secret.handle} (${secret.name})`, 4000);
  });
}
