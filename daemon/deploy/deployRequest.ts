import path from 'node:path';
import { ZavhozError } from '../core/errors.js';
import type { ValidatedParams } from '../protocol/define.js';
import type { EnvPlan } from '../protocol/env.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { DeployStart } from '../protocol/runs.js';
import { describeMissing, planEnvironment } from './envPlan.js';
import { readComposeModules } from './composeModules.js';
import { deployModuleNames, narrowTarget } from './modulePlan.js';
import { readProjectTemplate } from './envTemplate.js';
import type { DeploySecrets, DeployTarget, DeployTargets } from './ports.js';
import type { RunOptions } from './runStore.js';

/** A deploy as asked for by a client (params of `deploy/start`, defaults applied). */
export type DeployRequest = Readonly<Omit<ValidatedParams<typeof DeployStart>, 'wait' | 'confirmed'>>;

/** A request found deployable: where it goes, its env plan, and what the run remembers of it. */
export interface AcceptedRequest {
  readonly target: DeployTarget;
  readonly plan: EnvPlan;
  readonly options: RunOptions;
}

/**
 * Checks a request before any run exists: the folder is absolute, every variable has a value (else the commands
 * that fix it), and the token handles exist. Allocates the modules its compose files publish that are not allocated yet
 * (the project's first deploy allocates them all; an allocation made before keeps its modules and ports); the target
 * holds only the modules the deploy runs.
 */
export async function acceptRequest(request: DeployRequest, secrets: DeploySecrets, targets: DeployTargets): Promise<AcceptedRequest> {
  const folder = absoluteFolder(request.folder);
  const template = readProjectTemplate(folder);
  // The modules the deploy runs; an allocated one the compose files no longer publish is left out (and released
  // once the deploy succeeded).
  const modules = deployModuleNames(readComposeModules(folder));
  const { target } = narrowTarget(await targets.targetFor(request.project, modules), modules);
  const catalog = await secrets.catalog();
  const plan = planEnvironment(template, {
    project: request.project,
    bindings: request.bindings,
    catalog,
    modules: Object.keys(target.modulePorts),
  });
  if (!plan.ready) {
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `${plan.missing.length} variable(s) of ${request.project} have no value. Store them, then deploy again:\n${describeMissing(plan)}`,
      { missing: plan.missing },
    );
  }
  const unknownModules = Object.keys(request.healthPaths).filter((module) => target.modulePorts[module] === undefined);
  if (unknownModules.length > 0) {
    throw new ZavhozError(
      ErrorCodes.InvalidInput,
      `--health-path names ${unknownModules.join(', ')}, but ${request.project} has no such module; its modules with a port: ${Object.keys(target.modulePorts).join(', ')}.`,
    );
  }
  for (const [flag, handle] of [['--git-token', request.gitToken], ['--registry-token', request.registryToken]] as const) {
    if (handle !== undefined && !catalog.has(handle)) {
      throw new ZavhozError(ErrorCodes.NotFound, `${flag} ${handle}: the vault has no such handle. List handles with: zavhoz secret list`);
    }
  }
  await refuseExpired([...plan.variables.flatMap((variable) => (variable.handle ? [variable.handle] : [])), request.gitToken, request.registryToken], secrets);
  const [owner] = request.repository.split('/');
  const options: RunOptions = {
    projectFolder: folder,
    bindings: request.bindings,
    repoUrl: request.repoUrl ?? `https://github.com/${request.repository}.git`,
    registry: request.registry,
    registryUser: request.registryUser ?? owner ?? request.repository,
    ...(request.gitToken ? { gitToken: request.gitToken } : {}),
    ...(request.registryToken ? { registryToken: request.registryToken } : {}),
    ...(Object.keys(request.healthPaths).length > 0 ? { healthPaths: request.healthPaths } : {}),
    ...(request.noRollback ? { noRollback: true } : {}),
  };
  return { target, plan, options };
}

/** Refuses a deploy that would deliver a secret past its `expiresAt`, with the command that gives it a new value. */
async function refuseExpired(handles: readonly (string | undefined)[], secrets: Pick<DeploySecrets, 'expiresAt'>): Promise<void> {
  const now = Date.now();
  const expired: string[] = [];
  for (const handle of new Set(handles)) {
    const expiresAt = handle === undefined ? null : await secrets.expiresAt(handle);
    if (handle !== undefined && expiresAt !== null && Date.parse(expiresAt) < now) expired.push(handle);
  }
  if (expired.length === 0) return;
  throw new ZavhozError(
    ErrorCodes.PreconditionFailed,
    `${expired.length} secret(s) this deploy uses expired. Give each a new value, then deploy again:\n${expired.map((handle) => `  zavhoz secret rotate ${handle}`).join('\n')}`,
    { expired },
  );
}

/** The project folder, refused unless absolute (the daemon's working folder means nothing to the caller). */
export function absoluteFolder(folder: string): string {
  if (!path.isAbsolute(folder)) {
    throw new ZavhozError(ErrorCodes.InvalidInput, `The project folder must be an absolute path, got "${folder}".`);
  }
  return folder;
}
