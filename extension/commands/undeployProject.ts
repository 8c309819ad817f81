import * as vscode from 'vscode';
import { UndeployProgress, UndeployStart } from '../../daemon/protocol/undeploy.js';
import { describeUndeploy } from '../model/services.js';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { serviceTarget } from './servicePickers.js';

/**
 * `zavhoz.service.undeploy`: takes a project off its server after a modal confirmation that names both, with the
 * choice to keep its data volumes. Steps show in a cancellable notification; the outcome says what was removed.
 */
export function registerUndeployProject(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): void {
  registerCommand(context, services.log, CommandIds.undeployProject, async (argument: unknown) => {
    const target = await serviceTarget(argument, tracker, { placeHolder: 'Project to undeploy', servicesToo: false, deployedOnly: false });
    if (!target) return;
    const everything = 'Undeploy';
    const keepData = 'Undeploy, Keep Data';
    const choice = await vscode.window.showWarningMessage(
      `Undeploy ${target.project} from ${target.server}?`,
      {
        modal: true,
        detail:
          `Its containers, images, data volumes and /opt/services/${target.project} are removed from ${target.server}, its firewall ` +
          'rule closed, its allocation released and the CI secrets Zavhoz pushed for it deleted. "Keep Data" leaves its volumes.',
      },
      everything,
      keepData,
    );
    if (choice !== everything && choice !== keepData) return;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Zavhoz: undeploying ${target.project}`, cancellable: true },
      async (progress, token) => {
        const steps = services.connection.onNotification(UndeployProgress, (notice) => {
          if (notice.project === target.project && notice.stepStatus === 'running') progress.report({ message: notice.step });
        });
        try {
          return await services.connection.request(UndeployStart, { project: target.project, keepData: choice === keepData, wait: true, confirmed: true }, token);
        } finally {
          steps.dispose();
        }
      },
    );
    tracker.refresh();
    const shown = describeUndeploy(result);
    services.log.info(`undeploy ${target.project}: ${shown.message}${shown.warnings.length > 0 ? `; ${shown.warnings.join('; ')}` : ''}`);
    if (result.status !== 'succeeded') throw new Error(shown.message);
    if (shown.warnings.length > 0) void vscode.window.showWarningMessage(`Zavhoz: ${shown.message}`, { detail: shown.warnings.join('\n') });
    else void vscode.window.showInformationMessage(`Zavhoz: ${shown.message}`);
  });
}
