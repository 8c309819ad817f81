import * as vscode from 'vscode';
import { RUN_STATUSES, type RunStatus } from '../../daemon/protocol/runs.js';
import { RUN_STATUS_LOOK } from '../model/runs.js';
import type { ExtensionServices } from '../services.js';
import type { RunsProvider } from '../views/runsView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** `zavhoz.deploy.filterRuns` / `zavhoz.deploy.clearRunFilter`: narrows the Deploy Runs view to a project and a state. */
export function registerFilterRuns(context: vscode.ExtensionContext, services: ExtensionServices, runs: RunsProvider): void {
  registerCommand(context, services.log, CommandIds.filterRuns, async () => {
    const current = runs.filter;
    const any = 'Any';
    const project = await vscode.window.showQuickPick(
      [{ label: any, description: 'every project' }, ...runs.knownProjects.map((name) => ({ label: name, ...(name === current.project ? { description: 'current filter' } : {}) }))],
      { title: 'Filter Deploy Runs (1/2)', placeHolder: 'Project' },
    );
    if (!project) return;
    const status = await vscode.window.showQuickPick(
      [
        { label: any, description: 'every state', status: undefined },
        ...RUN_STATUSES.map((value: RunStatus) => ({
          label: `$(${RUN_STATUS_LOOK[value].icon.replace('~spin', '')}) ${RUN_STATUS_LOOK[value].word}`,
          status: value,
          ...(value === current.status ? { description: 'current filter' } : {}),
        })),
      ],
      { title: 'Filter Deploy Runs (2/2)', placeHolder: 'State' },
    );
    if (!status) return;
    await runs.setFilter({
      ...(project.label === any ? {} : { project: project.label }),
      ...(status.status === undefined ? {} : { status: status.status }),
    });
  });
  registerCommand(context, services.log, CommandIds.clearRunFilter, () => runs.setFilter({}));
}
