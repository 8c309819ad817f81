import * as vscode from 'vscode';
import { type ServerInfo, ServersDidChange, ServersList } from '../../daemon/protocol/servers.js';
import { SettingsDidChange } from '../../daemon/protocol/settings.js';
import { describeServer, groupServers, type ServerGroup, serverDetails, serverLabels } from '../model/servers.js';
import type { ExtensionServices } from '../services.js';
import { DaemonTreeProvider, TreeNode } from './tree.js';

const showGhostsKey = 'zavhoz.showGhostServers';
const filterKey = 'zavhoz.serverLabelFilter';

/**
 * Servers the view shows before it has them all: one short page fills the view at once (5,000 servers read in 25
 * pages of 200 before the first row showed took 1.5–2 s in code-server), and the rest follow.
 */
const FIRST_PAGE = 100;

/**
 * Servers per page after the first: fewer round trips, while a page (~700 bytes a server) stays under what the daemon
 * puts in one answer, so it is not cut short and weighed row by row.
 */
const REST_PAGE = 500;

/** A status group of the Servers view; `partial` while more servers are still being read. */
export class ServerGroupNode extends TreeNode {
  constructor(group: ServerGroup, partial = false) {
    super(`${group.title} (${group.servers.length}${partial ? '+' : ''})`, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `servers/${group.key}`;
    this.iconPath = new vscode.ThemeIcon(group.icon);
    this.contextValue = 'serverGroup';
    if (partial) this.description = 'loading…';
    this.accessibilityInformation = { label: `${group.title}: ${group.servers.length} servers${partial ? ' so far, loading more' : ''}` };
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
  /** Every server, read after a first page was shown: loads show it until the next refresh. */
  private complete: readonly ServerInfo[] | undefined;
  /** Why the pages after the first could not be read: the next load shows it. */
  private failed: Error | undefined;
  /** The read of the pages after the first, while one runs. */
  private reading: Promise<void> | undefined;
  /** Counts loads and refreshes: rows read for an older one are dropped. */
  private generation = 0;

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

  /** Reads the servers again (a change in the daemon, a filter) rather than showing rows read before. */
  override refresh(): void {
    this.complete = undefined;
    this.failed = undefined;
    this.reading = undefined;
    this.generation++;
    super.refresh();
  }

  /** Reveals a node once every server is read: the one sought may be on a page still on its way. */
  override async reveal(matches: (node: TreeNode) => boolean): Promise<boolean> {
    // Nothing read since the last refresh (a link opened before the view was shown): the first page alone may not
    // hold the node sought, so the read of the rest starts here and is waited for.
    if (this.complete === undefined && this.reading === undefined) await this.getChildren();
    await this.reading;
    if (this.complete !== undefined) await this.getChildren();
    return super.reveal(matches);
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    if (this.failed !== undefined) throw this.failed;
    let servers = this.complete;
    let partial = false;
    if (servers === undefined) {
      const generation = ++this.generation;
      const first = await this.connection.request(ServersList, { all: true, limit: FIRST_PAGE });
      servers = first.servers;
      if (first.nextCursor !== undefined) {
        partial = true;
        const reading = this.readRest(first.servers, first.nextCursor, generation);
        // A load asked meanwhile made this one moot: a reveal waits for the newer load's read, not this one's.
        if (generation === this.generation) this.reading = reading;
      }
    }
    this.labels = serverLabels(servers);
    const label = this.labelFilter;
    return groupServers(servers, { showGhosts: this.showGhosts, ...(label ? { label } : {}) }).map((group) => new ServerGroupNode(group, partial));
  }

  /** Reads the pages after the first, then shows every server (or why not); a newer load makes this one moot. */
  private async readRest(first: readonly ServerInfo[], cursor: string, generation: number): Promise<void> {
    const servers = [...first];
    let failed: Error | undefined;
    try {
      let next: string | undefined = cursor;
      while (next !== undefined && generation === this.generation) {
        const page: { readonly servers: readonly ServerInfo[]; readonly nextCursor?: string } = await this.connection.request(
          ServersList,
          { all: true, limit: REST_PAGE, cursor: next },
        );
        servers.push(...page.servers);
        next = page.nextCursor;
      }
    } catch (error) {
      // Daemon errors (ResponseError, a lost connection) are Errors; the view words them like any load error.
      failed = error instanceof Error ? error : new Error('The daemon did not answer with the list of servers.');
    }
    if (generation !== this.generation) return;
    // Kept until the next refresh: VS Code asks for the roots again now, and a reveal may ask before it.
    if (failed === undefined) this.complete = servers;
    else this.failed = failed;
    super.refresh();
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
