import * as vscode from 'vscode';
import type { ConnectionState, DaemonConnection } from './daemonConnection.js';

/**
 * The status-bar item: owns its item and maps the current state to text, icon and colour. Clicking it opens
 * the log. The deploy capability extends the state with the workspace project's run.
 */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('zavhoz.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscription: vscode.Disposable;

  constructor(connection: DaemonConnection) {
    this.item.name = 'Zavhoz';
    this.item.command = 'zavhoz.log.show';
    this.render(connection.state);
    this.subscription = connection.onDidChangeState((state) => this.render(state));
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }

  private render(state: ConnectionState): void {
    switch (state.kind) {
      case 'connecting':
        this.item.text = '$(sync~spin) Zavhoz';
        this.item.tooltip = 'Connecting to the Zavhoz daemon…';
        this.item.backgroundColor = undefined;
        break;
      case 'connected':
        this.item.text = '$(server-process) Zavhoz';
        this.item.tooltip = `Zavhoz daemon pid ${state.client.info.pid}: idle`;
        this.item.backgroundColor = undefined;
        break;
      case 'down':
        this.item.text = '$(error) Zavhoz: daemon down';
        this.item.tooltip = `${state.reason}${state.retrying ? ' (retrying)' : ' — run "Zavhoz: Restart Daemon"'}`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
    }
  }
}
