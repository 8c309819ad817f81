import * as vscode from 'vscode';

/** `zavhoz.log.show`: reveals the Zavhoz output channel. */
export function registerShowLog(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(vscode.commands.registerCommand('zavhoz.log.show', () => log.show(true)));
}
