import * as vscode from 'vscode';
import { type NotifyEndpoint, NotifyDidChange, NotifyList } from '../../daemon/protocol/notify.js';
import { deliveryState, describeEndpoint, endpointTarget } from '../model/notify.js';
import type { ExtensionServices } from '../services.js';
import { DaemonTreeProvider, TreeNode } from './tree.js';

const STATE_ICONS = {
  failing: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
  pending: new vscode.ThemeIcon('clock'),
  delivered: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  idle: new vscode.ThemeIcon('bell'),
} as const;

/** One notification endpoint (`notify.endpoint`): Test and Remove inline; its events, target and last error below. */
export class EndpointNode extends TreeNode {
  constructor(
    readonly endpoint: NotifyEndpoint,
    now: Date,
  ) {
    super(endpoint.name, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `notify/${endpoint.id}`;
    this.description = describeEndpoint(endpoint, now);
    this.iconPath = STATE_ICONS[deliveryState(endpoint)];
    this.contextValue = 'notify.endpoint';
    this.tooltip = `${endpoint.name} (${endpoint.id}): ${endpointTarget(endpoint.settings)}\n${endpoint.events.join(', ')}${endpoint.lastError ? `\nlast error: ${endpoint.lastError}` : ''}`;
    this.accessibilityInformation = { label: `Notification endpoint ${endpoint.name}, ${this.description}` };
    const detail = (key: string, label: string, description: string, icon: string): TreeNode => {
      const node = new TreeNode(label, vscode.TreeItemCollapsibleState.None);
      node.id = `${this.id}/${key}`;
      node.description = description;
      node.tooltip = description;
      node.iconPath = new vscode.ThemeIcon(icon);
      node.contextValue = 'notify.detail';
      return node;
    };
    this.children = [
      detail('target', 'Sends to', endpointTarget(endpoint.settings), 'send'),
      detail('events', 'Events', endpoint.events.join(', '), 'list-unordered'),
      ...(endpoint.lastError ? [detail('error', 'Last error', endpoint.lastError, 'error')] : []),
    ];
  }
}

/** The Notifications view: the endpoints that get run, approval, server and secret events, and how delivery stands. */
export class NotifyProvider extends DaemonTreeProvider {
  constructor(services: ExtensionServices) {
    super(services.connection);
    this.refreshOn(NotifyDidChange);
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    const { endpoints } = await this.connection.request(NotifyList, {});
    const now = new Date();
    return [...endpoints].sort((a, b) => a.name.localeCompare(b.name)).map((endpoint) => new EndpointNode(endpoint, now));
  }
}

/** Registers the Notifications view. */
export function registerNotifyView(context: vscode.ExtensionContext, services: ExtensionServices): NotifyProvider {
  const provider = new NotifyProvider(services);
  context.subscriptions.push(provider, vscode.window.createTreeView('zavhoz.notifications', { treeDataProvider: provider }));
  return provider;
}
