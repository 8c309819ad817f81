import type * as vscode from 'vscode';
import { DeployPlanRequest } from '../../daemon/protocol/deploy.js';
import { EnvPlanRequest, type EnvPlan } from '../../daemon/protocol/env.js';
import { DeployStart, type RunDetail } from '../../daemon/protocol/runs.js';
import type { ModulesView, PlanView } from '../../webview/messages.js';
import { planView, modulesView } from '../model/deployView.js';
import { errorMessage, isMethodNotFound } from '../model/errors.js';
import type { ExtensionServices } from '../services.js';
import type { WorkspaceDefaults } from '../workspace.js';

/**
 * What a deploy needs from the user; the rest comes from the workspace settings. The modules are not among them: the
 * daemon reads them from the compose files and the run allocates them, whoever starts it.
 */
export interface DeployChoice {
  readonly project: string;
  readonly repository: string;
  readonly ref: string;
  readonly bindings: Readonly<Record<string, string>>;
}

/** The message the panel shows where there is no workspace folder to deploy. */
export const NO_FOLDER = 'Open the project folder in VS Code first: Zavhoz deploys the workspace folder.';

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
export function planDeploy(services: Pick<ExtensionServices, 'connection'>, folder: string, project: string, bindings: Readonly<Record<string, string>>): Promise<EnvPlan> {
  return services.connection.request(EnvPlanRequest, { folder, project, bindings: { ...bindings } });
}

/**
 * What the deploy panel shows before a deploy: the env plan and the modules the deploy runs and allocates
 * (`deploy/plan`: nothing is allocated by asking), or why there is none. Names, handles and ports only.
 */
export async function panelPlan(
  services: Pick<ExtensionServices, 'connection'>,
  folder: string | undefined,
  project: string,
  bindings: Readonly<Record<string, string>>,
): Promise<PlanView> {
  if (!folder) return { ready: false, files: [], rows: [], error: NO_FOLDER };
  if (!project) return { ready: false, files: [], rows: [], error: 'Enter the project name.' };
  const [environment, modules] = await Promise.allSettled([
    planDeploy(services, folder, project, bindings),
    services.connection.request(DeployPlanRequest, { folder, project }),
  ]);
  const shown: ModulesView =
    modules.status === 'fulfilled'
      ? modulesView(modules.value)
      : {
          rows: [],
          retired: [],
          error: isMethodNotFound(modules.reason) ? 'The running daemon cannot list the modules of a deploy; restart it (Zavhoz: Restart Daemon) after updating.' : errorMessage(modules.reason),
        };
  if (environment.status === 'fulfilled') return { ...planView(environment.value), modules: shown };
  // Without compose files the modules section already says what to add; the env plan needs them too.
  const error = shown.notice?.kind === 'no-compose-file' ? 'The environment is planned from the compose files once they are there.' : errorMessage(environment.reason);
  return { ready: false, files: [], rows: [], error, modules: shown };
}

/**
 * Starts the deploy; answers at once with the (queued or running) run. The daemon's run allocates the modules the
 * compose files publish, as for the CLI: nothing is allocated here.
 */
export async function startDeploy(services: Pick<ExtensionServices, 'connection' | 'log'>, defaults: WorkspaceDefaults, choice: DeployChoice): Promise<RunDetail> {
  if (!defaults.folder) throw new Error(NO_FOLDER);
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
