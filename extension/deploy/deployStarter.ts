import type * as vscode from 'vscode';
import { AllocationsAllocate } from '../../daemon/protocol/allocations.js';
import type { RequestParams } from '../../daemon/protocol/define.js';
import { EnvPlanRequest, type EnvPlan } from '../../daemon/protocol/env.js';
import { DeployStart, type RunDetail } from '../../daemon/protocol/runs.js';
import type { ExtensionServices } from '../services.js';
import type { WorkspaceDefaults } from '../workspace.js';

/** What a deploy needs from the user; the rest comes from the workspace settings. */
export interface DeployChoice {
  readonly project: string;
  readonly repository: string;
  readonly ref: string;
  readonly bindings: Readonly<Record<string, string>>;
  /** When given, the project's modules are allocated first with these needs (idempotent). */
  readonly allocation?: Omit<RequestParams<typeof AllocationsAllocate>, 'project'>;
}

const bindingsKey = (project: string): string => `zavhoz.deploy.bindings.${project}`;

/** The bindings (variable → handle) chosen for a project in this workspace before. Handles only. */
export function rememberedBindings(memento: vscode.Memento, project: string): Record<string, string> {
  const saved = memento.get<unknown>(bindingsKey(project));
  if (typeof saved !== 'object' || saved === null) return {};
  return Object.fromEntries(Object.entries(saved).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Remembers a project's bindings for the next deploy from this workspace. */
export async function rememberBindings(memento: vscode.Memento, project: string, bindings: Readonly<Record<string, string>>): Promise<void> {
  await memento.update(bindingsKey(project), { ...bindings });
}

/** The env plan of the workspace folder for a project and bindings. */
export function planDeploy(services: ExtensionServices, folder: string, project: string, bindings: Readonly<Record<string, string>>): Promise<EnvPlan> {
  return services.connection.request(EnvPlanRequest, { folder, project, bindings: { ...bindings } });
}

/** Allocates if asked, then starts the deploy; answers at once with the (queued or running) run. */
export async function startDeploy(services: ExtensionServices, defaults: WorkspaceDefaults, choice: DeployChoice): Promise<RunDetail> {
  if (!defaults.folder) throw new Error('Open the project folder in VS Code first: Zavhoz deploys the workspace folder.');
  if (choice.allocation) {
    await services.connection.request(AllocationsAllocate, { ...choice.allocation, project: choice.project });
  }
  const run = await services.connection.request(DeployStart, {
    folder: defaults.folder.fsPath,
    project: choice.project,
    repository: choice.repository,
    ref: choice.ref,
    bindings: { ...choice.bindings },
    ...(defaults.repoUrl ? { repoUrl: defaults.repoUrl } : {}),
    ...(defaults.gitTokenSecret ? { gitToken: defaults.gitTokenSecret } : {}),
    // A person chose to deploy in VS Code just now: a protected project does not wait for approval.
    confirmed: true,
  });
  services.log.info(`deploy ${run.id} of ${run.project} (${run.repository}@${run.ref}) started: ${run.status}`);
  return run;
}
