import * as vscode from 'vscode';
import type { ProjectStatus, ServiceStatus } from '../../daemon/protocol/services.js';
import { conditionIcon, describeProject, describeService, projectCondition, serviceCondition, serviceTooltip } from '../model/services.js';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { DaemonTreeProvider, MessageNode, TreeNode } from './tree.js';

/** Extra children a project node gets from elsewhere (its releases), read when the node is expanded. */
export type ProjectChildren = (project: ProjectStatus) => Promise<TreeNode[]>;

function themeIcon(icon: string, color: string): vscode.ThemeIcon {
  return new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
}

/** A deployed (or allocated) project in the Services view: Restart, Logs, Undeploy and Rollback act on all of it. */
export class ServiceProjectNode extends TreeNode {
  constructor(
    readonly status: ProjectStatus,
    extra: ProjectChildren | undefined,
  ) {
    super(status.project, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `services/${status.project}`;
    this.description = describeProject(status);
    const condition = projectCondition(status);
    if (condition === 'not-deployed') this.iconPath = new vscode.ThemeIcon('project');
    else {
      const { icon, color } = conditionIcon(condition);
      this.iconPath = themeIcon(icon, color);
    }
    this.tooltip = `${status.project} on ${status.server} (${status.host})${status.error ? `\n${status.error}` : ''}`;
    this.contextValue = status.state === 'deployed' ? 'service.project.deployed' : 'service.project.idle';
    this.accessibilityInformation = { label: `Project ${status.project}: ${this.description}` };
    const own: TreeNode[] = status.error ? [new MessageNode(status.state === 'not-deployed' ? 'Not deployed' : 'Not reachable', status.error, 'info')] : [];
    own.push(...status.services.map((service) => new ServiceNode(status, service)));
    this.children = own;
    if (extra) this.loadChildren = async () => [...own, ...(await extra(status))];
  }
}

/** One container of a project: its condition, uptime and restarts; Restart and Logs act on its service. */
export class ServiceNode extends TreeNode {
  constructor(
    readonly project: ProjectStatus,
    readonly service: ServiceStatus,
  ) {
    super(service.service, vscode.TreeItemCollapsibleState.None);
    this.id = `services/${project.project}/${service.container}`;
    const condition = serviceCondition(service);
    const { icon, color } = conditionIcon(condition);
    this.iconPath = themeIcon(icon, color);
    this.description = `${describeService(service, new Date())}${service.url ? ` · ${service.url}` : ''}`;
    this.tooltip = serviceTooltip(project, service);
    this.contextValue = service.url ? 'service.container.web' : 'service.container';
    this.accessibilityInformation = { label: `${project.project} ${service.service}: ${condition}, ${this.description}` };
  }
}

/** The Services view: project → container with health, uptime and URL, refreshed whenever the tracker reads. */
export class ServicesProvider extends DaemonTreeProvider {
  /** Adds children under each project (the releases, once the daemon has them). */
  projectChildren: ProjectChildren | undefined;

  constructor(
    services: ExtensionServices,
    private readonly tracker: ServiceStatusTracker,
  ) {
    super(services.connection);
    this.own(tracker.onDidChange(() => this.refresh()));
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    const snapshot = await this.tracker.latest();
    if (snapshot.kind === 'failed') throw new Error(snapshot.error);
    if (snapshot.kind === 'none') return [];
    return snapshot.projects.map((project) => new ServiceProjectNode(project, this.projectChildren));
  }
}

/** Registers the Services view. */
export function registerServicesView(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): ServicesProvider {
  const provider = new ServicesProvider(services, tracker);
  context.subscriptions.push(provider, vscode.window.createTreeView('zavhoz.services', { treeDataProvider: provider, showCollapseAll: true }));
  return provider;
}
