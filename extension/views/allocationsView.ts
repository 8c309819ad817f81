import * as vscode from 'vscode';
import { type Allocation, AllocationsDidChange, AllocationsList } from '../../daemon/protocol/allocations.js';
import { ServersDidChange } from '../../daemon/protocol/servers.js';
import { formatMegabytes } from '../model/format.js';
import { allocationAddress, allocationWarning, groupAllocations, type AllocationProject } from '../model/allocations.js';
import type { ExtensionServices } from '../services.js';
import { DaemonTreeProvider, TreeNode } from './tree.js';

/** A project in the Allocations view; "Release" on it frees every module. */
export class AllocationProjectNode extends TreeNode {
  constructor(readonly group: AllocationProject) {
    super(group.project, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `allocations/${group.project}`;
    this.description = group.servers.join(', ');
    this.iconPath = new vscode.ThemeIcon('project');
    this.contextValue = 'allocation.project';
    this.accessibilityInformation = { label: `Project ${group.project}, ${group.modules.length} modules on ${group.servers.join(', ')}` };
    this.children = group.modules.map((allocation) => new AllocationModuleNode(allocation));
  }
}

/** A module in the Allocations view; "Release" on it frees that module only. */
export class AllocationModuleNode extends TreeNode {
  constructor(readonly allocation: Allocation) {
    super(allocation.module, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `allocations/${allocation.project}/${allocation.module}`;
    this.iconPath = new vscode.ThemeIcon('symbol-module');
    this.contextValue = 'allocation.module';
    const leaf = new TreeNode(allocationAddress(allocation), vscode.TreeItemCollapsibleState.None);
    leaf.id = `${this.id}/address`;
    const warning = allocationWarning(allocation);
    leaf.description = `${formatMegabytes(allocation.ramMb)} RAM reserved${warning ? ` · ${warning}` : ''}`;
    leaf.iconPath = warning
      ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
      : new vscode.ThemeIcon('plug');
    leaf.tooltip = `${allocation.project}/${allocation.module} on ${allocationAddress(allocation)} since ${allocation.createdAt}${warning ? `\n${warning}` : ''}`;
    leaf.contextValue = 'allocation.address';
    leaf.accessibilityInformation = { label: `${allocation.module} at ${allocationAddress(allocation)}${warning ? `, ${warning}` : ''}` };
    this.children = [leaf];
  }
}

/** The Allocations view: project → module → server:port. */
export class AllocationsProvider extends DaemonTreeProvider {
  constructor(services: ExtensionServices) {
    super(services.connection);
    this.refreshOn(AllocationsDidChange);
    // Flags (server missing / unreachable) follow the servers.
    this.refreshOn(ServersDidChange);
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    const allocations = await this.connection.listAll(AllocationsList, {}, (page) => page.allocations);
    return groupAllocations(allocations).map((group) => new AllocationProjectNode(group));
  }
}

/** Registers the Allocations view. */
export function registerAllocationsView(context: vscode.ExtensionContext, services: ExtensionServices): AllocationsProvider {
  const provider = new AllocationsProvider(services);
  context.subscriptions.push(provider, vscode.window.createTreeView('zavhoz.allocations', { treeDataProvider: provider, showCollapseAll: true }));
  return provider;
}
