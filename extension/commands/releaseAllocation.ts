import * as vscode from 'vscode';
import { AllocationsList, AllocationsRelease } from '../../daemon/protocol/allocations.js';
import type { ExtensionServices } from '../services.js';
import { AllocationModuleNode, AllocationProjectNode } from '../views/allocationsView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** Which allocations to release: a whole project, or one module. */
interface ReleaseTarget {
  readonly project: string;
  readonly module?: string;
}

/** `zavhoz.allocation.release`: frees a project's (or one module's) server place and ports after confirming. */
export function registerReleaseAllocation(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.releaseAllocation, async (argument: unknown) => {
    const target = await releaseTarget(services, argument);
    if (!target) return;
    const what = target.module ? `${target.project}/${target.module}` : `every module of ${target.project}`;
    const release = 'Release';
    const choice = await vscode.window.showWarningMessage(
      `Release ${what}?`,
      { modal: true, detail: 'The server place and ports go back to the pool; running services are not stopped.' },
      release,
    );
    if (choice !== release) return;
    const { released } = await services.connection.request(AllocationsRelease, {
      project: target.project,
      ...(target.module ? { module: target.module } : {}),
    });
    void vscode.window.showInformationMessage(`Zavhoz: released ${released.map((allocation) => `${allocation.project}/${allocation.module}`).join(', ') || 'nothing'}.`);
  });
}

async function releaseTarget(services: ExtensionServices, argument: unknown): Promise<ReleaseTarget | undefined> {
  if (argument instanceof AllocationProjectNode) return { project: argument.group.project };
  if (argument instanceof AllocationModuleNode) return { project: argument.allocation.project, module: argument.allocation.module };
  const allocations = await services.connection.listAll(AllocationsList, {}, (page) => page.allocations);
  if (allocations.length === 0) {
    void vscode.window.showInformationMessage('Zavhoz: nothing is allocated.');
    return undefined;
  }
  const projects = [...new Set(allocations.map((allocation) => allocation.project))].sort();
  const items = projects.flatMap((project) => [
    { label: project, description: 'all modules', target: { project } },
    ...allocations
      .filter((allocation) => allocation.project === project)
      .map((allocation) => ({
        label: `$(symbol-module) ${project}/${allocation.module}`,
        description: `${allocation.server}:${allocation.port}`,
        target: { project, module: allocation.module },
      })),
  ]);
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Allocation to release' }))?.target;
}
