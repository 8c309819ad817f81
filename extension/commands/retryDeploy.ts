import * as vscode from 'vscode';
import { RunsGet } from '../../daemon/protocol/runs.js';
import type { RunLogDocuments } from '../deploy/logDocument.js';
import { rememberedBindings, startDeploy } from '../deploy/deployStarter.js';
import type { ExtensionServices } from '../services.js';
import { RunNode } from '../views/runsView.js';
import { workspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/**
 * `zavhoz.deploy.retry`: deploys a failed, cancelled or interrupted run's project again, from the same repository
 * and ref with the bindings remembered for it, and opens the new run's log. The project's folder must be the
 * workspace's (a deploy reads its compose files).
 */
export function registerRetryDeploy(context: vscode.ExtensionContext, services: ExtensionServices, logs: RunLogDocuments): void {
  registerCommand(context, services.log, CommandIds.retryDeploy, async (argument: unknown) => {
    const id = argument instanceof RunNode ? argument.run.id : typeof argument === 'string' ? argument : undefined;
    if (!id) {
      await vscode.commands.executeCommand(CommandIds.deployProject);
      return;
    }
    const previous = await services.connection.request(RunsGet, { id });
    const defaults = await workspaceDefaults();
    if (defaults.project !== previous.project) {
      void vscode.window.showInformationMessage(`Zavhoz: open the folder of ${previous.project} to deploy it again (a deploy reads its compose files).`);
      return;
    }
    const run = await startDeploy(services, defaults, {
      project: previous.project,
      repository: previous.repository,
      ref: previous.ref,
      bindings: rememberedBindings(context.workspaceState, previous.project),
    });
    await logs.show(run.id);
  });
}
