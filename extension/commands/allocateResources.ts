import * as vscode from 'vscode';
import {
  AllocationsAllocate,
  DEFAULT_MIN_DISK_MB,
  DEFAULT_MIN_RAM_MB,
  DEFAULT_MODULE,
} from '../../daemon/protocol/allocations.js';
import type { ExtensionServices } from '../services.js';
import { workspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';
import { fieldValidator, integerValidator, toList } from './validate.js';

const base = { project: 'p', minRamMb: 0, minDiskMb: 0 };

/** `zavhoz.allocation.create`: places a project's modules on a server with free ports (idempotent). */
export function registerAllocateResources(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.allocateResources, async () => {
    const defaults = await workspaceDefaults();
    const title = 'Allocate Resources';
    const project = await vscode.window.showInputBox({
      title: `${title} (1/4)`,
      prompt: 'Project',
      value: defaults.project ?? '',
      ignoreFocusOut: true,
      validateInput: fieldValidator(AllocationsAllocate, base, 'project'),
    });
    if (!project) return;
    const modules = await vscode.window.showInputBox({
      title: `${title} (2/4)`,
      prompt: 'Modules, separated by commas',
      value: DEFAULT_MODULE,
      ignoreFocusOut: true,
      validateInput: fieldValidator(AllocationsAllocate, base, 'modules', toList),
    });
    if (!modules) return;
    const minRamMb = await vscode.window.showInputBox({
      title: `${title} (3/4)`,
      prompt: 'RAM each module needs, in MB',
      value: String(DEFAULT_MIN_RAM_MB),
      ignoreFocusOut: true,
      validateInput: integerValidator(AllocationsAllocate, base, 'minRamMb'),
    });
    if (!minRamMb) return;
    const minDiskMb = await vscode.window.showInputBox({
      title: `${title} (4/4)`,
      prompt: 'Free disk the server needs, in MB',
      value: String(DEFAULT_MIN_DISK_MB),
      ignoreFocusOut: true,
      validateInput: integerValidator(AllocationsAllocate, base, 'minDiskMb'),
    });
    if (!minDiskMb) return;
    const result = await withProgress(`Zavhoz: allocating ${project}…`, (token) =>
      services.connection.request(
        AllocationsAllocate,
        { project: project.trim(), modules: toList(modules), minRamMb: Number(minRamMb), minDiskMb: Number(minDiskMb) },
        token,
      ),
    );
    const places = result.allocations.map((allocation) => `${allocation.module} → :${allocation.port}`).join(', ');
    const news = result.created.length === 0 ? 'already allocated' : `allocated ${result.created.join(', ')}`;
    void vscode.window.showInformationMessage(`Zavhoz: ${result.project} on ${result.server} (${news}): ${places}.`);
  });
}
