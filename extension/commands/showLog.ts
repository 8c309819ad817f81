import * as vscode from 'vscode';
import { CommandIds } from '../commandIds.js';

/** `zavhoz.log.show`: reveals the Zavhoz output channel. */
export function registerShowLog(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(vscode.commands.registerCommand(CommandIds.showLog, () => log.show(true)));
}
