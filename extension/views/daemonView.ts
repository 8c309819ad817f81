import * as vscode from 'vscode';
import { DaemonStatus, type DaemonStatusResult } from '../../daemon/protocol/lifecycle.js';
import type { DaemonConnection } from '../daemonConnection.js';

/** One line of the daemon view. */
class DaemonItem extends vscode.TreeItem {
  constructor(label: string, description: string, icon: string) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.description = description;
    this.iconPath = new vscode.ThemeIcon(icon);
    this.contextValue = 'daemonInfo';
  }
}

/** The "Daemon" view: whether the daemon runs, its pid, version, data folder and clients. */
class DaemonViewProvider implements vscode.TreeDataProvider<DaemonItem> {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly connection: DaemonConnection) {
    connection.onDidChangeState(() => this.emitter.fire());
  }

  getTreeItem(item: DaemonItem): DaemonItem {
    return item;
  }

  async getChildren(): Promise<DaemonItem[]> {
    const state = this.connection.state;
    if (state.kind === 'connecting') return [new DaemonItem('Connecting…', '', 'sync~spin')];
    if (state.kind === 'down') return [new DaemonItem('Daemon down', state.reason, 'error')];
    let status: DaemonStatusResult;
    try {
      status = await state.client.request(DaemonStatus, {});
    } catch (error) {
      return [new DaemonItem('Daemon not answering', String(error), 'warning')];
    }
    return [
      new DaemonItem('Running', `pid ${status.pid}`, 'pass'),
      new DaemonItem('Version', `${status.daemonVersion} (protocol ${status.protocolVersion})`, 'versions'),
      new DaemonItem('Data folder', status.dataFolder, 'folder'),
      new DaemonItem('Clients', status.clients.map((client) => client.name).join(', '), 'plug'),
    ];
  }
}

/** Registers the Daemon view. */
export function registerDaemonView(context: vscode.ExtensionContext, connection: DaemonConnection): void {
  context.subscriptions.push(vscode.window.registerTreeDataProvider('zavhoz.daemon', new DaemonViewProvider(connection)));
}
