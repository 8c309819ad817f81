import * as vscode from 'vscode';
import { RunsList } from '../../daemon/protocol/runs.js';
import type { RunLogDocuments } from '../deploy/logDocument.js';
import { describeRun } from '../model/runs.js';
import type { ExtensionServices } from '../services.js';
import { RunNode } from '../views/runsView.js';
import { workspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** `zavhoz.deploy.showLog`: opens a run's live log (the run clicked, else one picked from recent runs). */
export function registerShowDeployLog(context: vscode.ExtensionContext, services: ExtensionServices, logs: RunLogDocuments): void {
  registerCommand(context, services.log, CommandIds.showDeployLog, async (argument: unknown) => {
    const id = argument instanceof RunNode ? argument.run.id : typeof argument === 'string' ? argument : await pickRun(services);
    if (id) await logs.show(id);
  });
}

async function pickRun(services: ExtensionServices): Promise<string | undefined> {
  // A run that waits for approval has no log yet.
  const runs = (await services.connection.request(RunsList, { limit: 30 })).runs.filter((run) => run.status !== 'awaiting_approval');
  if (runs.length === 0) {
    const choice = await vscode.window.showInformationMessage('Zavhoz: nothing has been deployed yet.', 'Deploy Project…');
    if (choice) await vscode.commands.executeCommand(CommandIds.deployProject);
    return undefined;
  }
  const project = (await workspaceDefaults()).project;
  const now = new Date();
  const ordered = [...runs.filter((run) => run.project === project), ...runs.filter((run) => run.project !== project)];
  const picked = await vscode.window.showQuickPick(
    ordered.map((run) => ({ label: `${run.project} · ${run.ref}`, description: describeRun(run, now), detail: run.id, id: run.id })),
    { placeHolder: 'Deploy run whose log to show' },
  );
  return picked?.id;
}
