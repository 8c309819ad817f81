import * as vscode from 'vscode';
import { RunsCancel, RunsList } from '../../daemon/protocol/runs.js';
import { describeRun, isActive } from '../model/runs.js';
import type { ExtensionServices } from '../services.js';
import { RunNode } from '../views/runsView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** `zavhoz.deploy.cancel`: cancels a queued or running deploy (its playbook is stopped). */
export function registerCancelDeploy(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.cancelDeploy, async (argument: unknown) => {
    const id = argument instanceof RunNode ? argument.run.id : typeof argument === 'string' ? argument : await pickActiveRun(services);
    if (!id) return;
    const run = await services.connection.request(RunsCancel, { id });
    void vscode.window.setStatusBarMessage(`$(circle-slash) Zavhoz: deploy of ${run.project} ${run.status}`, 5000);
  });
}

async function pickActiveRun(services: ExtensionServices): Promise<string | undefined> {
  const { runs } = await services.connection.request(RunsList, { limit: 100 });
  const active = runs.filter((run) => isActive(run.status));
  if (active.length === 0) {
    void vscode.window.showInformationMessage('Zavhoz: no deploy is running.');
    return undefined;
  }
  if (active.length === 1) return active[0]?.id;
  const now = new Date();
  const picked = await vscode.window.showQuickPick(
    active.map((run) => ({ label: `${run.project} · ${run.ref}`, description: describeRun(run, now), id: run.id })),
    { placeHolder: 'Deploy to cancel' },
  );
  return picked?.id;
}
