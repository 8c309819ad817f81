import * as vscode from 'vscode';
import { type RunStep, type RunSummary, RunsDidChange, RunsGet, RunsList } from '../../daemon/protocol/runs.js';
import { formatElapsed } from '../model/format.js';
import { describeRun, isActive, RUN_STATUS_LOOK, STEP_ICONS, STEP_TITLES } from '../model/runs.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { DaemonTreeProvider, TreeNode } from './tree.js';

/** How many recent runs the view lists. */
const RECENT_RUNS = 50;

/** One deploy run; `run.active` (queued/running) can be cancelled; clicking opens its live log. */
export class RunNode extends TreeNode {
  constructor(
    readonly run: RunSummary,
    now: Date,
    services: ExtensionServices,
  ) {
    super(`${run.project} · ${run.ref}`, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `run/${run.id}`;
    this.description = describeRun(run, now);
    const look = RUN_STATUS_LOOK[run.status];
    this.iconPath = new vscode.ThemeIcon(look.icon, look.colour ? new vscode.ThemeColor(look.colour) : undefined);
    this.contextValue = isActive(run.status) ? 'run.active' : 'run.finished';
    this.tooltip = `${run.id}: ${run.repository}@${run.ref} — ${look.word}${run.error ? `\n${run.error}` : ''}\nstarted by ${run.client}`;
    this.command = { command: CommandIds.showDeployLog, title: 'Show Deploy Log', arguments: [run.id] };
    this.accessibilityInformation = { label: `Deploy of ${run.project} at ${run.ref}, ${this.description}` };
    this.loadChildren = async () => {
      const detail = await services.connection.request(RunsGet, { id: run.id });
      return detail.steps.map((step) => new RunStepNode(run.id, step));
    };
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

/** The Deploy Runs view: recent runs, newest first. */
export class RunsProvider extends DaemonTreeProvider {
  constructor(private readonly services: ExtensionServices) {
    super(services.connection);
    this.refreshOn(RunsDidChange);
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    const { runs } = await this.connection.request(RunsList, { limit: RECENT_RUNS });
    const now = new Date();
    return runs.map((run) => new RunNode(run, now, this.services));
  }
}

/** Registers the Deploy Runs view. */
export function registerRunsView(context: vscode.ExtensionContext, services: ExtensionServices): RunsProvider {
  const provider = new RunsProvider(services);
  context.subscriptions.push(provider, vscode.window.createTreeView('zavhoz.runs', { treeDataProvider: provider }));
  return provider;
}
