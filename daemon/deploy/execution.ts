import { ZavhozError } from '../core/errors.js';
import type { RetiredModule } from '../protocol/deploy.js';
import type { EnvPlan, PlannedVariable } from '../protocol/env.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretUse } from '../vault/api.js';
import { childEnvironment } from './ansible.js';
import { readComposeModules } from './composeModules.js';
import { deployModuleNames, narrowTarget, releasePorts, withoutRouted } from './modulePlan.js';
import { describeMissing, planEnvironment } from './envPlan.js';
import { type ProjectTemplate, readProjectTemplate } from './envTemplate.js';
import { planHandles } from './envValues.js';
import { type ExecutionContext, type ExecutionHooks, retriesOf } from './executionContext.js';
import { writeExtraVars } from './extraVars.js';
import { inventoryFor } from './inventoryFile.js';
import { releaseOptionsOf, releasePass, type PassSpec } from './passSpec.js';
import { type PlaybookResult, runPlaybook } from './playbookRun.js';
import type { DeployTarget } from './ports.js';
import type { ReleaseRecord } from './releaseStore.js';
import { checkLogin, closeMasters, forgetKnownHosts, pinnedKnownHosts } from './preflight.js';
import { withRetries } from './retries.js';
import { RUN_FILES, type RunFolder } from './runFolder.js';

export type { ExecutionContext, ExecutionHooks } from './executionContext.js';

/** How a run's playbook pass ended, and what a second pass in the same run (an automatic rollback) needs. */
export interface ExecutionResult {
  readonly target: DeployTarget;
  /** What the pass deployed. */
  readonly spec: PassSpec;
  readonly playbook: PlaybookResult;
  /** The vault handles delivered, for `confirmDeployed`. */
  readonly handles: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly use: SecretUse;
}

/**
 * Runs one deploy from allocation to health check: of the run's project folder and ref, or (a rollback run) of
 * `release` exactly. Secret values exist only inside the vault's callbacks while they are written to the run's 0600
 * files; the caller removes those files when this settles, whatever happened.
 */
export async function executeRun(context: ExecutionContext, release?: ReleaseRecord): Promise<ExecutionResult> {
  const { run, folder } = context;
  const use: SecretUse = { client: run.client, requestId: run.requestId, action: run.kind, detail: { project: run.project, run: run.id } };
  const env = childEnvironment(folder, { runId: run.id, requestId: run.requestId });

  // A deploy allocates what the project's compose files publish; a rollback puts back a release where it is, with
  // any of its modules released since allocated again.
  const { target, retired } = await allocateTarget(context, release);
  const spec = release === undefined ? { ...(await deploySpec(context, target, use)), retired } : rollbackSpec(context, target, release);
  folder.writePrivate(RUN_FILES.inventory, inventoryFor(target, folder));
  await checkServerLogin(context, target, env, use);
  const proxySwitch = await context.targets.proxySwitchOf?.(run.project, target.server);
  const handles = await writeExtraVars(folder, context.secrets, { run, target, spec, use, proxySwitch });
  const playbook = await runPlaybook(context, target, env);
  return { target, spec, playbook, handles, env, use };
}

/**
 * A second playbook pass in the same run, after the first one's: puts `spec` (the previous release) back on the
 * server. Its tasks' steps go to `hooks`, not to the run's steps, which keep showing why the first pass failed.
 */
export async function executePass(
  context: ExecutionContext,
  first: Pick<ExecutionResult, 'target' | 'env' | 'use'>,
  spec: PassSpec,
  hooks: Pick<ExecutionHooks, 'step' | 'started'>,
): Promise<PlaybookResult> {
  const proxySwitch = await context.targets.proxySwitchOf?.(context.run.project, first.target.server);
  await writeExtraVars(context.folder, context.secrets, { run: context.run, target: first.target, spec, use: first.use, proxySwitch });
  return runPlaybook(context, first.target, first.env, hooks);
}

/** Steps `plan` and `secrets` of a deploy: what the project folder asks for, with the secrets' current versions. */
async function deploySpec(context: ExecutionContext, target: DeployTarget, use: SecretUse): Promise<PassSpec> {
  const { run, secrets } = context;
  const { template, plan: checked } = await planVariables(context, target);
  const plan = await generateInfraSecrets(context, checked, target, use);
  return {
    ref: run.ref,
    plan,
    services: template.services,
    port: target.port,
    modulePorts: target.modulePorts,
    healthPaths: run.options.healthPaths ?? {},
    versions: await secrets.currentVersions([...new Set(planHandles(plan))]),
    pins: [],
    options: releaseOptionsOf(run.options),
  };
}

/** Steps `plan` and `secrets` of a rollback: the release's plan and secret versions, on the server it ran on. */
function rollbackSpec({ run, hooks }: ExecutionContext, target: DeployTarget, release: ReleaseRecord): PassSpec {
  hooks.step('plan', 'running');
  if (release.server !== target.server) {
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `Release ${release.number} of ${run.project} ran on ${release.server}, but ${run.project} is now allocated to ${target.server}. Deploy the version you want there instead.`,
    );
  }
  hooks.step('plan', 'succeeded', `release ${release.number} (${release.commit.slice(0, 12)}), ${release.plan.variables.length} variables`);
  hooks.step('secrets', 'running');
  const spec = { ...releasePass(release), ...releasePorts(release.allocation, target) };
  hooks.planned(release.plan, { ...target, port: spec.port, modulePorts: spec.modulePorts });
  hooks.step('secrets', 'succeeded', `${release.secrets.length} secret versions of release ${release.number}`);
  return spec;
}

/**
 * Step `allocate`: where the project deploys. A deploy allocates the modules its compose files publish and runs only
 * those (`retired`: the allocated ones they no longer publish); a rollback allocates again any module of its release
 * released since.
 */
async function allocateTarget({ run, hooks, targets, log }: ExecutionContext, release: ReleaseRecord | undefined): Promise<{ target: DeployTarget; retired: RetiredModule[] }> {
  hooks.step('allocate', 'running');
  const wanted = release === undefined ? deployModuleNames(readComposeModules(run.options.projectFolder)) : Object.keys(release.allocation.modulePorts);
  const before = new Set(release === undefined ? [] : await targets.modulesOf(run.project));
  const allocated = await targets.targetFor(run.project, wanted.length > 0 ? wanted : undefined);
  const { target, retired: unpublished } = release === undefined ? narrowTarget(allocated, wanted) : { target: allocated, retired: [] };
  // A module a domain still routes to keeps its port: released, the port could go to another project, and the
  // domain's requests with it.
  const routed = unpublished.length === 0 ? [] : ((await targets.proxySwitchOf?.(run.project, target.server))?.modules ?? []);
  const { retired, routedTo } = withoutRouted(unpublished, routed);
  for (const entry of routedTo) {
    log.note(`module ${entry.module} is no longer in the compose files but domain ${entry.domain} still routes to it: it stays allocated. Remove the domain (zavhoz domain remove ${entry.domain}) and the next deploy releases it`);
  }
  for (const module of wanted.filter((name) => release !== undefined && !before.has(name))) {
    log.note(`allocated module ${module} again for release ${release?.number ?? ''}: port ${allocated.modulePorts[module] ?? '?'} on ${allocated.server}`);
  }
  const modules = Object.entries(target.modulePorts).sort(([left], [right]) => left.localeCompare(right));
  hooks.step('allocate', 'succeeded', `${target.server} ${modules.length === 1 ? `port ${target.port}` : modules.map(([module, port]) => `${module} ${port}`).join(', ')}`);
  log.note(`target ${target.server}: ${target.sshUser}@${target.host}:${target.sshPort}, port ${target.port}`);
  if (retired.length > 0) {
    log.note(`no longer in the compose files: ${retired.map((module) => `module ${module.module} (port ${module.port})`).join(', ')}; released once this deploy succeeds`);
  }
  return { target, retired };
}

/** Step `plan`: the project's variables, classified; a variable without a value ends the run here. */
async function planVariables({ run, hooks, secrets }: ExecutionContext, target: DeployTarget): Promise<{ template: ProjectTemplate; plan: EnvPlan }> {
  hooks.step('plan', 'running');
  const template = readProjectTemplate(run.options.projectFolder);
  const plan = planEnvironment(template, {
    project: run.project,
    bindings: run.options.bindings,
    catalog: await secrets.catalog(),
    modules: Object.keys(target.modulePorts),
  });
  if (!plan.ready) {
    throw new ZavhozError(ErrorCodes.PreconditionFailed, `Variables of ${run.project} have no value yet:\n${describeMissing(plan)}`);
  }
  hooks.step('plan', 'succeeded', `${plan.variables.length} variables`);
  return { template, plan };
}

/** Step `secrets`: infra secrets the vault does not hold yet are generated; the plan then names every handle. */
async function generateInfraSecrets(context: ExecutionContext, plan: EnvPlan, target: DeployTarget, use: SecretUse): Promise<EnvPlan> {
  const { run, hooks, secrets, log } = context;
  hooks.step('secrets', 'running');
  const variables: PlannedVariable[] = [];
  for (const variable of plan.variables) {
    if (variable.status !== 'generate') {
      variables.push(variable);
      continue;
    }
    const handle = await secrets.ensureGenerated(run.project, variable.name, use);
    log.note(`generated ${variable.name} in the vault as ${handle}`);
    variables.push({ ...variable, handle });
  }
  const generated = { ...plan, variables };
  hooks.planned(generated, target);
  hooks.step('secrets', 'succeeded', `${planHandles(generated).length} handles`);
  return generated;
}

/**
 * Step `preflight`, the daemon's part: the server's host key matches the inventory's pin and the key logs in
 * (again, after a backoff, while the host is unreachable). The SSH master it opens is reused by the playbook, whose
 * first tasks (`step_preflight`) check the server itself.
 */
async function checkServerLogin(context: ExecutionContext, target: DeployTarget, env: NodeJS.ProcessEnv, use: SecretUse): Promise<void> {
  const { folder, secrets, signal, hooks } = context;
  hooks.step('preflight', 'running');
  await withRetries(retriesOf(context, 'preflight'), async () => {
    const knownHosts = await pinnedKnownHosts(target, env, signal);
    folder.writePrivate(RUN_FILES.knownHosts, knownHosts);
    if (!folder.has(RUN_FILES.sshKey)) {
      await secrets.withValue(target.sshKeySecret, { ...use, action: 'ssh', detail: { ...use.detail, server: target.server } }, (key) => {
        folder.writePrivate(RUN_FILES.sshKey, key.endsWith('\n') ? key : `${key}\n`);
      });
    }
    try {
      await checkLogin(
        target,
        { key: folder.file(RUN_FILES.sshKey), knownHosts: folder.file(RUN_FILES.knownHosts), controlDir: folder.controlDir },
        env,
        signal,
      );
    } catch (error) {
      forgetKnownHosts(target);
      throw error;
    }
  });
  // Still running: the playbook's first tasks finish the pre-flight on the server (compose installed?) and end it.
  hooks.step('preflight', 'running', `logged in as ${target.sshUser}@${target.host}:${target.sshPort}; checking the server`);
}

/** Ends the run's SSH masters and removes its secret and temporary files. Never throws. */
export async function cleanUpRun(folder: RunFolder, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await closeMasters(folder.controlSockets(), env);
  } finally {
    folder.removeSecrets();
  }
}
