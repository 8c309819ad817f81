import * as vscode from 'vscode';
import { DaemonStatus, type DaemonStatusResult } from '../../daemon/protocol/lifecycle.js';
import { CommandIds } from '../commandIds.js';
import type { DaemonConnection } from '../daemonConnection.js';
import { teamLook } from '../model/team.js';
import type { TeamState } from '../teamState.js';

/** One line of the daemon view. */
class DaemonItem extends vscode.TreeItem {
  constructor(label: string, description: string, icon: string) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.description = description;
    this.iconPath = new vscode.ThemeIcon(icon);
    this.contextValue = 'daemonInfo';
  }
}

/** The Team line: the team database, this member and whether it answers; a click shows everything. */
function teamItem(team: TeamState): DaemonItem | undefined {
  const status = team.status;
  if (!status) return undefined;
  const look = teamLook(status);
  const item = look
    ? new DaemonItem('Team', look.line.replace(/^team: /, ''), look.warning ? 'warning' : 'organization')
    : new DaemonItem('Team', 'none: this machine only', 'person');
  item.tooltip = look ? look.detail.join('\n') : 'This daemon keeps its state on this machine. A team shares a PostgreSQL store: zavhoz team join postgres://user@host:5432/db';
  item.command = { command: CommandIds.showTeamStatus, title: 'Team Status' };
  item.contextValue = 'daemonTeam';
  return item;
}

/** The "Daemon" view: whether the daemon runs, its pid, version, data folder, clients and team. */
class DaemonViewProvider implements vscode.TreeDataProvider<DaemonItem> {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(
    private readonly connection: DaemonConnection,
    private readonly team: TeamState,
  ) {
    connection.onDidChangeState(() => this.emitter.fire());
    team.onDidChange(() => this.emitter.fire());
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
      ...[teamItem(this.team)].filter((item) => item !== undefined),
    ];
  }
}

/** Registers the Daemon view. */
export function registerDaemonView(context: vscode.ExtensionContext, connection: DaemonConnection, team: TeamState): void {
  context.subscriptions.push(vscode.window.registerTreeDataProvider('zavhoz.daemon', new DaemonViewProvider(connection, team)));
}
