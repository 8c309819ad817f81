import * as vscode from 'vscode';

/** The one output channel, "Zavhoz", holding extension lines and daemon lines (prefixed `[daemon]`). */
export function createLog(context: vscode.ExtensionContext): vscode.LogOutputChannel {
  const log = vscode.window.createOutputChannel('Zavhoz', { log: true });
  context.subscriptions.push(log);
  return log;
}
