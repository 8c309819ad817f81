import type * as vscode from 'vscode';
import type { DaemonConnection } from './daemonConnection.js';
import type { TeamState } from './teamState.js';

/** What every command and view of the extension is handed: the daemon connection and the one log channel. */
export interface ExtensionServices {
  readonly connection: DaemonConnection;
  readonly log: vscode.LogOutputChannel;
  /** Team mode as the daemon last said (views name the member who did what on a team's store). */
  readonly team?: TeamState;
}
