import * as vscode from 'vscode';
import { type DomainInfo, DomainsDidChange, DomainsList } from '../../daemon/protocol/domains.js';
import { type ReleaseSummary, ReleasesDidChange, ReleasesList } from '../../daemon/protocol/releases.js';
import type { ProjectStatus, ServiceStatus } from '../../daemon/protocol/services.js';
import { isMethodNotFound } from '../model/errors.js';
import { describeRelease, releaseName, releaseTooltip } from '../model/releases.js';
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

/** A domain of a project, routed by the proxy on its server with HTTPS; opening it opens its https address. */
export class DomainNode extends TreeNode {
  constructor(readonly domain: DomainInfo) {
    super(domain.domain, vscode.TreeItemCollapsibleState.None);
    this.id = `services/${domain.project}/domains/${domain.domain}`;
    this.iconPath = new vscode.ThemeIcon('globe');
    this.description = `→ ${domain.module}${domain.dns ? ` · DNS ${domain.dns.type} ${domain.dns.content}` : ''}`;
    this.tooltip = `${domain.url}\nRouted by the proxy on ${domain.server} to ${domain.project}/${domain.module}`;
    this.contextValue = 'domain';
    if (!domain.domain.startsWith('*.')) this.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.parse(domain.url)] };
    this.accessibilityInformation = { label: `Domain ${domain.domain} of ${domain.project}` };
  }
}

/** Releases a project's node lists (the newest ones; the CLI lists them all). */
const RELEASES_SHOWN = 10;

/** A release of a project: what a deploy or rollback left running; Rollback on an older one redeploys it. */
export class ReleaseNode extends TreeNode {
  constructor(
    readonly release: ReleaseSummary,
    readonly current: boolean,
    rolledBackTo: ReleaseSummary | undefined,
  ) {
    super(`Release ${releaseName(release)}`, vscode.TreeItemCollapsibleState.None);
    this.id = `services/${release.project}/releases/${release.id}`;
    this.description = describeRelease(release, current, new Date(), rolledBackTo);
    this.tooltip = releaseTooltip(release);
    this.iconPath = current ? themeIcon('tag', 'testing.iconPassed') : new vscode.ThemeIcon('tag');
    this.contextValue = current ? 'release.current' : 'release.previous';
    this.accessibilityInformation = { label: `Release ${release.number} of ${release.project}: ${this.description}` };
  }
}

/** The releases of a project, newest first, under a folder node of its own. */
export class ReleasesNode extends TreeNode {
  constructor(project: string, releases: readonly ReleaseSummary[]) {
    super('Releases', vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `services/${project}/releases`;
    this.iconPath = new vscode.ThemeIcon('history');
    this.description = releases[0] ? `current ${releaseName(releases[0])}` : 'none yet';
    this.contextValue = 'release.folder';
    const byId = new Map(releases.map((release) => [release.id, release]));
    this.children = releases.map((release, index) => new ReleaseNode(release, index === 0, release.rolledBackTo ? byId.get(release.rolledBackTo) : undefined));
  }
}

/** The Services view: project → container with health, uptime and URL, refreshed whenever the tracker reads. */
export class ServicesProvider extends DaemonTreeProvider {
  /** Adds children under each project: its releases. */
  private readonly projectChildren: ProjectChildren;

  constructor(
    services: ExtensionServices,
    private readonly tracker: ServiceStatusTracker,
  ) {
    super(services.connection);
    this.own(tracker.onDidChange(() => this.refresh()));
    this.refreshOn(ReleasesDidChange);
    this.refreshOn(DomainsDidChange);
    this.projectChildren = async (project) => {
      // Only projects a deploy can name have releases and domains.
      if (!ReleasesList.params.shape.project.safeParse(project.project).success) return [];
      const children: TreeNode[] = [];
      try {
        const { domains } = await this.connection.request(DomainsList, { project: project.project });
        children.push(...domains.map((domain) => new DomainNode(domain)));
      } catch (error) {
        // A daemon without domains shows the rest.
        if (!isMethodNotFound(error)) throw error;
      }
      try {
        const { releases } = await this.connection.request(ReleasesList, { project: project.project, limit: RELEASES_SHOWN });
        if (releases.length > 0) children.push(new ReleasesNode(project.project, releases));
      } catch (error) {
        // A daemon without releases shows containers only.
        if (!isMethodNotFound(error)) throw error;
      }
      return children;
    };
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
