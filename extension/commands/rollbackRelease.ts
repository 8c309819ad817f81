import * as vscode from 'vscode';
import * as z from 'zod';
import { DeployRollback, type ReleaseSummary, ReleasesList } from '../../daemon/protocol/releases.js';
import { previousRelease, releaseName, rollbackQuestion, shortCommit } from '../model/releases.js';
import { relativeTime } from '../model/format.js';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { ReleaseNode } from '../views/servicesView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { serviceTarget } from './servicePickers.js';

/**
 * `zavhoz.release.rollback`: redeploys an earlier release of a project (its commit, images by digest and secret
 * versions) after a modal confirmation naming the project, the server and the release. On a release: that one; on
 * a project: the one before the current; from the palette: a project, then a release. The run shows like a deploy.
 */
export function registerRollbackRelease(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): void {
  registerCommand(context, services.log, CommandIds.rollbackRelease, async (argument: unknown): Promise<string | undefined> => {
    const release = await chosenRelease(services, tracker, argument);
    if (!release) return undefined;
    const question = rollbackQuestion(release, new Date());
    const rollBack = 'Roll Back';
    const choice = await vscode.window.showWarningMessage(question.title, { modal: true, detail: question.detail }, rollBack);
    if (choice !== rollBack) return undefined;
    const run = await services.connection.request(DeployRollback, { project: release.project, to: release.id, confirmed: true });
    services.log.info(`rollback of ${release.project} to release ${releaseName(release)}: run ${run.id} ${run.status}`);
    const show = 'Show Log';
    void vscode.window
      .showInformationMessage(
        `Zavhoz: rolling ${release.project} back to release ${releaseName(release)} (run ${run.id}${run.status === 'queued' ? ', queued behind a running deploy' : ''}).`,
        show,
      )
      .then((answer) => (answer === show ? vscode.commands.executeCommand(CommandIds.showDeployLog, run.id) : undefined));
    return run.id;
  });
}

const projectArgument = z.strictObject({ project: ReleasesList.params.shape.project });

async function chosenRelease(services: ExtensionServices, tracker: ServiceStatusTracker, argument: unknown): Promise<ReleaseSummary | undefined> {
  if (argument instanceof ReleaseNode) return argument.release;
  // The deploy panel names the project of the run it shows.
  const named = projectArgument.safeParse(argument);
  const target = named.success
    ? { project: named.data.project }
    : await serviceTarget(argument, tracker, { placeHolder: 'Project to roll back', servicesToo: false, deployedOnly: false });
  if (!target) return undefined;
  const { releases } = await services.connection.request(ReleasesList, { project: target.project, limit: 20 });
  if (releases.length < 2 && argument !== undefined) {
    void vscode.window.showInformationMessage(`Zavhoz: ${target.project} has no earlier release to roll back to.`);
    return undefined;
  }
  // From the project's node: the release before the current one, as the CLI does.
  if (argument !== undefined) return previousRelease(releases);
  const now = new Date();
  const items = releases.slice(1).map((release) => ({
    label: `Release ${releaseName(release)}`,
    description: `${shortCommit(release.commit)} · ${release.ref} · ${relativeTime(release.createdAt, now)}`,
    release,
  }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`Zavhoz: ${target.project} has no earlier release to roll back to.`);
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { placeHolder: `Release of ${target.project} to roll back to` }))?.release;
}
