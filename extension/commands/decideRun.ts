import type * as vscode from 'vscode';
import { decideApproval } from '../approvalPrompts.js';
import type { ExtensionServices } from '../services.js';
import { WaitingRunNode } from '../views/runsView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/**
 * `zavhoz.deploy.approve` and `zavhoz.deploy.reject`: the inline actions of a run that waits for approval in the Runs
 * view. The click is the person's decision; the daemon starts an approved run under `vscode`.
 */
export function registerDecideRun(context: vscode.ExtensionContext, services: ExtensionServices): void {
  const decide = async (argument: unknown, approve: boolean): Promise<void> => {
    if (!(argument instanceof WaitingRunNode)) return;
    const { run } = argument;
    await decideApproval(services, { id: run.id, kind: run.kind, project: run.project }, approve);
  };
  registerCommand(context, services.log, CommandIds.approveRun, (argument: unknown) => decide(argument, true));
  registerCommand(context, services.log, CommandIds.rejectRun, (argument: unknown) => decide(argument, false));
}
