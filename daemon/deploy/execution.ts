import { ZavhozError } from '../core/errors.js';
import type { EnvPlan, PlannedVariable } from '../protocol/env.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { RunStepName } from '../protocol/runs.js';
import type { SecretUse } from '../vault/api.js';
import { ANSIBLE_EXIT, childEnvironment, startPlaybook } from './ansible.js';
import { describeMissing, planEnvironment } from './envPlan.js';
import { readProjectTemplate } from './envTemplate.js';
import { environmentValues, formatDotenv, planHandles, withValues } from './envValues.js';
import { inventoryFor } from './inventoryFile.js';
import { explainTaskFailure } from './outcome.js';
import type { DeploySecrets, DeployTarget, DeployTargets } from './ports.js';
import { checkLogin, closeMasters, pinnedKnownHosts } from './preflight.js';
import { RUN_FILES, type RunFolder } from './runFolder.js';
import type { RunLog } from './runLog.js';
import type { RunRecord } from './runStore.js';

/** Attempts at reaching an unreachable host: the first and up to three retries. */
export const MAX_ATTEMPTS = 4;

/** What a run's execution reports back to the service as it goes. */
export interface ExecutionHooks {
  step(name: RunStepName, status: 'running' | 'succeeded' | 'failed' | 'skipped', detail?: string): void;
  planned(plan: EnvPlan, target: DeployTarget): void;
  started(pid: number, attempt: number): void;
  /** An Ansible task reported a failure (`fatal:` / `failed:`), with its cause when it is one we recognise. */
  taskFailed(task: string, reason: string | undefined): void;
}

/** What an execution needs. */
export interface ExecutionContext {
  readonly run: RunRecord;
  readonly folder: RunFolder;
  readonly log: RunLog;
  readonly secrets: DeploySecrets;
  readonly targets: DeployTargets;
  readonly signal: AbortSignal;
  readonly hooks: ExecutionHooks;
  /** Wait before retry `attempt` (1-based) of an unreachable host. */
  readonly backoffMs: (attempt: number) => number;
}

/** How the playbook ended; `handles` are the vault handles delivered, for `confirmDeployed`. */
export interface ExecutionResult {
  readonly exitCode: number;
  readonly handles: readonly string[];
}

/** Resolves after `ms`, or rejects at once when the run is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ZavhozError(ErrorCodes.RequestCancelled, 'aborted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ZavhozError(ErrorCodes.RequestCancelled, 'aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs one deploy from allocation to health check. Secret values exist only inside the vault's callbacks while
 * they are written to the run's 0600 files; the caller removes those files when this settles, whatever happened.
 */
export async function executeRun(context: ExecutionContext): Promise<ExecutionResult> {
  const { run, folder, log, secrets, signal, hooks } = context;
  const use: SecretUse = { client: run.client, requestId: run.requestId, action: 'deploy', detail: { project: run.project, run: run.id } };
  const env = childEnvironment(folder, { runId: run.id, requestId: run.requestId });

  hooks.step('allocate', 'running');
  const target = context.targets.targetFor(run.project);
  hooks.step('allocate', 'succeeded', `${target.server} port ${target.port}`);
  log.note(`target ${target.server}: ${target.sshUser}@${target.host}:${target.sshPort}, port ${target.port}`);

  hooks.step('plan', 'running');
  const template = readProjectTemplate(run.options.projectFolder);
  let plan = planEnvironment(template, {
    project: run.project,
    bindings: run.options.bindings,
    catalog: secrets,
    modules: Object.keys(target.modulePorts),
  });
  if (!plan.ready) {
    throw new ZavhozError(ErrorCodes.PreconditionFailed, `Variables of ${run.project} have no value yet:\n${describeMissing(plan)}`);
  }
  hooks.step('plan', 'succeeded', `${plan.variables.length} variables`);

  hooks.step('secrets', 'running');
  const generated: PlannedVariable[] = [];
  for (const variable of plan.variables) {
    if (variable.status !== 'generate') {
      generated.push(variable);
      continue;
    }
    const handle = await secrets.ensureGenerated(run.project, variable.name, use);
    log.note(`generated ${variable.name} in the vault as ${handle}`);
    generated.push({ ...variable, handle });
  }
  plan = { ...plan, variables: generated };
  hooks.planned(plan, target);
  const handles = planHandles(plan);
  hooks.step('secrets', 'succeeded', `${handles.length} handles`);

  folder.writePrivate(RUN_FILES.inventory, inventoryFor(target, folder));
  hooks.step('preflight', 'running');
  await withRetries(context, 'preflight', async () => {
    const knownHosts = await pinnedKnownHosts(target, env, signal);
    folder.writePrivate(RUN_FILES.knownHosts, knownHosts);
    if (!folder.has(RUN_FILES.sshKey)) {
      await secrets.withValue(target.sshKeySecret, { ...use, action: 'ssh', detail: { ...use.detail, server: target.server } }, (key) => {
        folder.writePrivate(RUN_FILES.sshKey, key.endsWith('\n') ? key : `${key}\n`);
      });
    }
    await checkLogin(
      target,
      { key: folder.file(RUN_FILES.sshKey), knownHosts: folder.file(RUN_FILES.knownHosts), controlDir: folder.controlDir },
      env,
      signal,
    );
  });
  hooks.step('preflight', 'succeeded', `${target.sshUser}@${target.host}:${target.sshPort}`);

  const extraHandles = [...handles, ...[run.options.gitToken, run.options.registryToken].filter((handle): handle is string => !!handle)];
  await withValues(secrets, extraHandles, use, (values) => {
    const environment = environmentValues(
      plan,
      { project: run.project, repository: run.repository, port: target.port, modulePorts: target.modulePorts, services: template.services },
      values,
      Object.keys(target.modulePorts),
    );
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const extraVars: Record<string, string | number> = {
      project: run.project,
      repo_url: run.options.repoUrl,
      git_ref: run.ref,
      app_port: target.port,
      health_url: `http://${host}:${target.port}`,
      env_file_content: formatDotenv(environment),
      registry: run.options.registry,
      registry_user: run.options.registryUser,
    };
    const gitToken = run.options.gitToken ? values.get(run.options.gitToken) : undefined;
    const registryToken = run.options.registryToken ? values.get(run.options.registryToken) : undefined;
    if (gitToken !== undefined) extraVars.git_token = gitToken;
    if (registryToken !== undefined) extraVars.registry_token = registryToken;
    folder.writePrivate(RUN_FILES.extraVars, JSON.stringify(extraVars));
  });

  hooks.step('playbook', 'running');
  const exitCode = await withRetries(context, 'playbook', async (attempt) => {
    let current = '';
    // Reported once the attempt ends: the task an unreachable attempt stopped at must not name a later failure.
    let failedTask: string | undefined;
    let failureReason: string | undefined;
    const started = startPlaybook(folder, env, signal, (line) => {
      log.write(line);
      if (failedTask === undefined && /^(fatal|failed): \[/.test(line)) {
        failedTask = current;
        failureReason = explainTaskFailure(line);
      }
      const task = /^TASK \[(.*)\]/.exec(line)?.[1];
      if (task === undefined) return;
      current = task;
      if (task.startsWith('Health check')) {
        hooks.step('playbook', 'succeeded', 'containers started');
        hooks.step('health', 'running', task);
      } else {
        hooks.step('playbook', 'running', task);
      }
    });
    hooks.started(started.pid, attempt);
    const exit = await started.exited;
    if (signal.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'aborted');
    if (exit.code === ANSIBLE_EXIT.unreachable) {
      throw new ZavhozError(ErrorCodes.Unreachable, `Ansible could not reach ${target.server} (${target.host}:${target.sshPort}); run.log has its message.`);
    }
    if (failedTask !== undefined) hooks.taskFailed(failedTask, failureReason);
    return exit.code ?? -1;
  });
  return { exitCode, handles: extraHandles };
}

/**
 * Runs `work`, again after a backoff when it fails with Unreachable, up to {@link MAX_ATTEMPTS} times. Any other
 * failure (a failed task, a wrong key) is final at once.
 */
async function withRetries<T>(context: ExecutionContext, step: RunStepName, work: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const retry = error instanceof ZavhozError && error.code === ErrorCodes.Unreachable && attempt < MAX_ATTEMPTS && !context.signal.aborted;
      if (!retry) throw error;
      const wait = context.backoffMs(attempt);
      context.log.note(`${step}: ${error.message} Retrying in ${Math.round(wait / 1000)} s (attempt ${attempt + 1} of ${MAX_ATTEMPTS}).`);
      context.hooks.step(step, 'running', `unreachable, retry ${attempt + 1} of ${MAX_ATTEMPTS}`);
      await sleep(wait, context.signal);
    }
  }
}

/** Ends the run's SSH masters and removes its secret and temporary files. Never throws. */
export async function cleanUpRun(folder: RunFolder, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await closeMasters(folder.controlSockets(), env);
  } finally {
    folder.removeSecrets();
  }
}
