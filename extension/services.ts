import type * as vscode from 'vscode';
import type { DaemonConnection } from './daemonConnection.js';

/** What every command and view of the extension is handed: the daemon connection and the one log channel. */
export interface ExtensionServices {
  readonly connection: DaemonConnection;
  readonly log: vscode.LogOutputChannel;
}
