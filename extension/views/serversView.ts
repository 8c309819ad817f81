import * as vscode from 'vscode';
import { type ServerInfo, ServersDidChange, ServersList } from '../../daemon/protocol/servers.js';
import { SettingsDidChange } from '../../daemon/protocol/settings.js';
import { describeServer, groupServers, type ServerGroup, serverDetails, serverLabels } from '../model/servers.js';
import type { ExtensionServices } from '../services.js';
import { DaemonTreeProvider, TreeNode } from './tree.js';

const showGhostsKey = 'zavhoz.showGhostServers';
const filterKey = 'zavhoz.serverLabelFilter';

/** A status group of the Servers view. */
export class ServerGroupNode extends TreeNode {
  constructor(group: ServerGroup) {
    super(`${group.title} (${group.servers.length})`, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `servers/${group.key}`;
    this.iconPath = new vscode.ThemeIcon(group.icon);
    this.contextValue = 'serverGroup';
    this.accessibilityInformation = { label: `${group.title}: ${group.servers.length} servers` };
    this.children = group.servers.map((server) => new ServerNode(server));
  }
}

/**
 * One server: host, available RAM/disk and allocation count; menus match `server.managed` / `server.ghost`. Its
 * tooltip is built when the row is hovered ({@link ServersProvider.resolveTreeItem}): VS Code sends every row of an
 * expanded group to the window with all it carries, and 5,000 Markdown tooltips were most of those bytes.
 */
export class ServerNode extends TreeNode {
  constructor(readonly server: ServerInfo) {
    super(server.name, vscode.TreeItemCollapsibleState.None);
    this.id = `server/${server.handle}`;
    this.description = describeServer(server);
    this.contextValue = server.managed ? 'server.managed' : 'server.ghost';
    this.iconPath = new vscode.ThemeIcon(server.managed ? 'server' : 'eye-closed', statusColour(server));
    this.accessibilityInformation = { label: `Server ${server.name}, ${server.status.replace('_', ' ')}, ${this.description}` };
  }
}

function statusColour(server: ServerInfo): vscode.ThemeColor | undefined {
  if (server.status === 'unreachable' || server.offeredHostKeyFingerprint) return new vscode.ThemeColor('list.errorForeground');
  if (server.status === 'missing') return new vscode.ThemeColor('list.warningForeground');
  if (server.status === 'ready') return new vscode.ThemeColor('testing.iconPassed');
  return undefined;
}

/** A server row's tooltip: every detail the line has no room for, one per line. */
export function serverTooltip(server: ServerInfo): vscode.MarkdownString {
  return new vscode.MarkdownString(serverDetails(server).map(escapeMarkdown).join('  \n'));
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+!<>|-]/g, '\\$&');
}

/** The Servers view's data: every server (ghosts included, hidden by the view) grouped by status. */
export class ServersProvider extends DaemonTreeProvider {
  private labels: string[] = [];

  constructor(
    services: ExtensionServices,
    private readonly memento: vscode.Memento,
  ) {
    super(services.connection);
    this.refreshOn(ServersDidChange);
    // Marking a server as a ghost changes the `ghostServers` setting.
    this.refreshOn(SettingsDidChange);
  }

  /** Whether ghost servers are listed. */
  get showGhosts(): boolean {
    return this.memento.get<boolean>(showGhostsKey, false);
  }

  /** The label the view is narrowed to, if any. */
  get labelFilter(): string | undefined {
    return this.memento.get<string>(filterKey);
  }

  /** Labels seen at the last load, for the filter picker. */
  get knownLabels(): readonly string[] {
    return this.labels;
  }

  /** Shows or hides ghost servers (remembered per workspace). */
  async setShowGhosts(show: boolean): Promise<void> {
    await this.memento.update(showGhostsKey, show);
    this.refresh();
  }

  /** Narrows the view to one label, or clears the filter. */
  async setLabelFilter(label: string | undefined): Promise<void> {
    await this.memento.update(filterKey, label);
    this.refresh();
  }

  /** Fills in a server row's tooltip when VS Code is about to show it (on hover). */
  resolveTreeItem(item: vscode.TreeItem, node: TreeNode): vscode.TreeItem {
    if (node instanceof ServerNode && item.tooltip === undefined) item.tooltip = serverTooltip(node.server);
    return item;
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    const servers = await this.connection.listAll(ServersList, { all: true }, (page) => page.servers);
    this.labels = serverLabels(servers);
    const label = this.labelFilter;
    return groupServers(servers, { showGhosts: this.showGhosts, ...(label ? { label } : {}) }).map((group) => new ServerGroupNode(group));
  }
}

/** Registers the Servers view and keeps its title description and context keys in step with its options. */
export function registerServersView(context: vscode.ExtensionContext, services: ExtensionServices): ServersProvider {
  const provider = new ServersProvider(services, context.workspaceState);
  const view = vscode.window.createTreeView('zavhoz.servers', { treeDataProvider: provider, showCollapseAll: true });
  provider.view = view;
  context.subscriptions.push(provider, view);
  const sync = (): void => {
    const label = provider.labelFilter;
    view.description = label ? `label: ${label}` : '';
    void vscode.commands.executeCommand('setContext', 'zavhoz.showGhostServers', provider.showGhosts);
    void vscode.commands.executeCommand('setContext', 'zavhoz.serverFilterActive', label !== undefined);
  };
  sync();
  context.subscriptions.push(provider.onDidChangeTreeData(sync));
  return provider;
}
