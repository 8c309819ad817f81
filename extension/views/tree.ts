import * as vscode from 'vscode';
import type { NotificationDefinition } from '../../daemon/protocol/define.js';
import { CommandIds } from '../commandIds.js';
import type { DaemonConnection } from '../daemonConnection.js';
import { errorMessage } from '../model/errors.js';

/** A tree node that carries its own children (trees are built whole from one daemon answer). */
export class TreeNode extends vscode.TreeItem {
  /** Children shown when the node is expanded. */
  children: TreeNode[] = [];
  /** Children read from the daemon only when the node is expanded (overrides {@link children}). */
  loadChildren: (() => Promise<TreeNode[]>) | undefined;
}

/** A node that says something about the view itself (an error), with an action on click. */
export class MessageNode extends TreeNode {
  constructor(label: string, description: string, icon: string, command?: vscode.Command) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.description = description;
    this.tooltip = description ? `${label}: ${description}` : label;
    this.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor('problemsWarningIcon.foreground'));
    this.contextValue = 'message';
    if (command) this.command = command;
  }
}

/**
 * Base of every Zavhoz tree: loads its roots from the daemon only when VS Code asks (a hidden view costs
 * nothing), reloads on the daemon's change notifications (listeners survive reconnects) and on every new
 * connection, and shows connection trouble as a viewsWelcome (empty tree) or a load error as a message node.
 */
export abstract class DaemonTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  private readonly disposables: { dispose(): void }[] = [this.changed];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Each shown node's parent, from the last load (VS Code needs it to reveal a node: deep links, `reveal`). */
  private readonly parents = new WeakMap<TreeNode, TreeNode>();
  private roots: readonly TreeNode[] | undefined;
  /** The view showing this tree, once registered. */
  view: vscode.TreeView<TreeNode> | undefined;

  /** Fires when the tree must be read again. */
  readonly onDidChangeTreeData = this.changed.event;

  constructor(protected readonly connection: DaemonConnection) {
    this.disposables.push(connection.onDidChangeState(() => this.refresh()));
  }

  /** Reloads the tree when the daemon sends this notification. */
  protected refreshOn<P>(definition: NotificationDefinition<P>): void {
    this.disposables.push(this.connection.onNotification(definition, () => this.refresh()));
  }

  /** Keeps a disposable alive as long as the provider. */
  protected own(disposable: vscode.Disposable): void {
    this.disposables.push(disposable);
  }

  /** Asks VS Code to read the tree again; bursts of notifications become one reload. */
  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.changed.fire(undefined), 50);
  }

  getTreeItem(node: TreeNode): TreeNode {
    return node;
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (node) {
      if (!node.loadChildren) return [...node.children];
      try {
        return await node.loadChildren();
      } catch (error) {
        return [new MessageNode('Could not load', errorMessage(error), 'warning')];
      }
    }
    // Connecting or down: an empty tree lets the view's viewsWelcome say so (keyed on zavhoz.daemonState).
    if (this.connection.state.kind !== 'connected') return [];
    try {
      const roots = await this.loadRoots();
      this.roots = roots;
      const note = (parent: TreeNode): void => {
        for (const child of parent.children) {
          this.parents.set(child, parent);
          note(child);
        }
      };
      for (const root of roots) note(root);
      return [...roots];
    } catch (error) {
      return [
        new MessageNode('Could not load', errorMessage(error), 'warning', {
          command: CommandIds.showLog,
          title: 'Show Log',
        }),
      ];
    }
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return this.parents.get(node);
  }

  /**
   * Shows, selects and focuses the first node (roots and their loaded children, depth first) that `matches`, loading
   * the tree if it never was; false when no node matches.
   */
  async reveal(matches: (node: TreeNode) => boolean): Promise<boolean> {
    if (!this.roots) await this.getChildren();
    const find = (nodes: readonly TreeNode[]): TreeNode | undefined => {
      for (const node of nodes) {
        if (matches(node)) return node;
        const inner = find(node.children);
        if (inner) return inner;
      }
      return undefined;
    };
    const found = find(this.roots ?? []);
    if (!found || !this.view) return false;
    await this.view.reveal(found, { select: true, focus: true, expand: true });
    return true;
  }

  /** Reads the view's data from the daemon and builds its root nodes. */
  protected abstract loadRoots(): Promise<readonly TreeNode[]>;

  dispose(): void {
    clearTimeout(this.refreshTimer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
