import * as vscode from 'vscode';
import { registerRestartDaemon } from './commands/restartDaemon.js';
import { registerShowLog } from './commands/showLog.js';
import { DaemonConnection } from './daemonConnection.js';
import { createLog } from './log.js';
import { StatusBar } from './statusBar.js';
import { registerDaemonView } from './views/daemonView.js';

/** Activation stays light: create the UI pieces and start connecting in the background. */
export function activate(context: vscode.ExtensionContext): void {
  const log = createLog(context);
  const connection = new DaemonConnection(context, log);
  context.subscriptions.push(connection);
  context.subscriptions.push(new StatusBar(connection));
  registerShowLog(context, log);
  registerRestartDaemon(context, connection);
  registerDaemonView(context, connection);
  connection.start();
}

/** Everything is disposed through `context.subscriptions`. */
export function deactivate(): void {}
