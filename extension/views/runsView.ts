import * as vscode from 'vscode';
import { RUN_STATUSES, type RunStep, type RunSummary, RunsDidChange, RunsGet, RunsList } from '../../daemon/protocol/runs.js';
import { ApprovalsDidChange } from '../../daemon/protocol/approvals.js';
import { formatElapsed, relativeTime } from '../model/format.js';
import { AuditList } from '../../daemon/protocol/audit.js';
import { describeRun, isActive, RUN_STATUS_LOOK, STEP_ICONS, STEP_TITLES } from '../model/runs.js';
import { actor, memberOfRun, runMembers } from '../model/team.js';
import { describeRunFilter, filterRuns, type RunFilter } from '../model/runFilter.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { DaemonTreeProvider, TreeNode } from './tree.js';

/** How many recent runs the view lists (the daemon keeps every run, so the history survives restarts). */
const RECENT_RUNS = 50;
/** How far back a state filter looks, so "failed" still finds failures among many successes. */
const FILTERED_RUNS = 200;

const filterKey = 'zavhoz.runFilter';

/** How many recent audit entries name the members of the recent runs (deploys and rollbacks among other actions). */
const TEAM_AUDIT_ENTRIES = 500;

/**
 * One deploy run; `run.active` (queued/running) can be cancelled, `run.retryable` (failed, cancelled,
 * interrupted) retried; clicking opens its log.
 */
export class RunNode extends TreeNode {
  constructor(
    readonly run: RunSummary,
    now: Date,
    services: ExtensionServices,
    member?: string,
  ) {
    super(`${run.project} · ${run.ref}`, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `run/${run.id}`;
    this.description = `${describeRun(run, now)}${member ? ` · ${member}` : ''}`;
    const look = RUN_STATUS_LOOK[run.status];
    this.iconPath = new vscode.ThemeIcon(look.icon, look.colour ? new vscode.ThemeColor(look.colour) : undefined);
    // Active runs can be cancelled; failed, cancelled and interrupted ones retried.
    this.contextValue = isActive(run.status) ? 'run.active' : run.status === 'succeeded' ? 'run.finished' : 'run.retryable';
    this.tooltip = `${run.id}: ${run.repository}@${run.ref} — ${look.word}${run.error ? `\n${run.error}` : ''}\nstarted by ${actor(run.client, member)}`;
    this.command = { command: CommandIds.showDeployLog, title: 'Show Deploy Log', arguments: [run.id] };
    this.accessibilityInformation = { label: `Deploy of ${run.project} at ${run.ref}, ${this.description}` };
    this.loadChildren = async () => {
      const detail = await services.connection.request(RunsGet, { id: run.id });
      return detail.steps.map((step) => new RunStepNode(run.id, step));
    };
  }
}

/**
 * A run of a protected project that waits for a person (`approval.waiting`): who asked and when, what it will do and
 * the secret handles it names, with Approve and Reject inline.
 */
export class WaitingRunNode extends TreeNode {
  constructor(
    readonly run: RunSummary,
    now: Date,
  ) {
    super(`${run.project} · ${run.kind}${run.ref ? ` ${run.ref}` : ''}`, vscode.TreeItemCollapsibleState.None);
    this.id = `run/${run.id}`;
    const look = RUN_STATUS_LOOK[run.status];
    this.description = `${look.word} · asked by ${run.client} ${relativeTime(run.createdAt, now)}`;
    this.iconPath = new vscode.ThemeIcon(look.icon, look.colour ? new vscode.ThemeColor(look.colour) : undefined);
    this.contextValue = 'approval.waiting';
    const approval = run.approval;
    const secrets = approval && approval.handles.length > 0 ? `\nsecrets: ${approval.handles.join(', ')}` : '';
    this.tooltip = `${run.id}: ${approval?.summary ?? run.kind}\nasked by ${run.client} at ${new Date(run.createdAt).toLocaleString()}${approval ? `\nexpires ${new Date(approval.expiresAt).toLocaleTimeString()}` : ''}${secrets}`;
    this.accessibilityInformation = { label: `${run.kind} of ${run.project} awaiting approval, asked by ${run.client}` };
  }
}

/** One step of a run. */
export class RunStepNode extends TreeNode {
  constructor(runId: string, step: RunStep) {
    super(STEP_TITLES[step.name], vscode.TreeItemCollapsibleState.None);
    this.id = `run/${runId}/${step.name}`;
    const duration = step.startedAt && step.finishedAt ? formatElapsed(Date.parse(step.finishedAt) - Date.parse(step.startedAt)) : undefined;
    this.description = [step.status, duration, step.detail].filter((part) => part).join(' · ');
    this.iconPath = new vscode.ThemeIcon(STEP_ICONS[step.status], step.status === 'failed' ? new vscode.ThemeColor('testing.iconFailed') : undefined);
    this.contextValue = 'runStep';
    this.tooltip = step.detail ?? STEP_TITLES[step.name];
  }
}

/** The Deploy Runs view: recent runs, newest first, optionally narrowed to a project and a state. */
export class RunsProvider extends DaemonTreeProvider {
  private projects: readonly string[] = [];

  constructor(
    private readonly services: ExtensionServices,
    private readonly memento: vscode.Memento,
  ) {
    super(services.connection);
    this.refreshOn(RunsDidChange);
    this.refreshOn(ApprovalsDidChange);
  }

  /** The current filter (remembered per workspace). */
  get filter(): RunFilter {
    const saved = this.memento.get<RunFilter>(filterKey, {});
    return {
      ...(typeof saved.project === 'string' ? { project: saved.project } : {}),
      ...(saved.status && (RUN_STATUSES as readonly string[]).includes(saved.status) ? { status: saved.status } : {}),
    };
  }

  /** Projects seen at the last load, for the filter picker. */
  get knownProjects(): readonly string[] {
    return this.projects;
  }

  /** Narrows the view, or clears the filter with `{}`. */
  async setFilter(filter: RunFilter): Promise<void> {
    await this.memento.update(filterKey, filter);
    this.refresh();
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    const filter = this.filter;
    const { runs } = await this.connection.request(RunsList, {
      limit: filter.status ? FILTERED_RUNS : RECENT_RUNS,
      ...(filter.project ? { project: filter.project } : {}),
    });
    if (!filter.project) this.projects = [...new Set(runs.map((run) => run.project))].sort();
    const now = new Date();
    const members = await this.members();
    return filterRuns(runs, filter)
      .slice(0, RECENT_RUNS)
      .map((run) => (run.status === 'awaiting_approval' ? new WaitingRunNode(run, now) : new RunNode(run, now, this.services, memberOfRun(run) ?? members.get(run.id))));
  }

  /**
   * On a team's store, who started each recent run: the audit log records the member with each deploy and rollback.
   * Alone, nothing to ask (every run is this person's).
   */
  private async members(): Promise<ReadonlyMap<string, string>> {
    if (this.services.team?.inTeam !== true) return new Map();
    try {
      const { entries } = await this.connection.request(AuditList, { limit: TEAM_AUDIT_ENTRIES });
      return runMembers(entries.filter((entry) => entry.action === 'deploy' || entry.action === 'rollback'));
    } catch {
      return new Map();
    }
  }
}

/** Registers the Deploy Runs view and keeps its title description and filter context key in step. */
export function registerRunsView(context: vscode.ExtensionContext, services: ExtensionServices): RunsProvider {
  const provider = new RunsProvider(services, context.workspaceState);
  const view = vscode.window.createTreeView('zavhoz.runs', { treeDataProvider: provider });
  provider.view = view;
  context.subscriptions.push(provider, view);
  const sync = (): void => {
    const filter = provider.filter;
    view.description = describeRunFilter(filter);
    void vscode.commands.executeCommand('setContext', 'zavhoz.runFilterActive', filter.project !== undefined || filter.status !== undefined);
  };
  sync();
  context.subscriptions.push(provider.onDidChangeTreeData(sync));
  // Joining or leaving a team changes who the runs are shown as started by.
  const team = services.team;
  if (team) {
    let inTeam = team.inTeam;
    context.subscriptions.push(
      team.onDidChange(() => {
        if (team.inTeam === inTeam) return;
        inTeam = team.inTeam;
        provider.refresh();
      }),
    );
  }
  return provider;
}
