import type { ScopedLogger } from '../core/logger.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { Redactor } from '../core/redactor.js';
import type { RunStatus } from '../protocol/runs.js';
import type { AfterSuccess } from './afterSuccess.js';
import { childEnvironment } from './ansible.js';
import { cleanUpRun, executeRun, type ExecutionHooks } from './execution.js';
import { type AbortReason, failureOutcome, playbookOutcome, type RunOutcome, StepTracker } from './outcome.js';
import type { DeploySecrets, DeployTargets } from './ports.js';
import { RunFolder } from './runFolder.js';
import { type LogFollowers, RunLog } from './runLog.js';
import { type RunRecord, type RunStore, toDetail } from './runStore.js';

/** What carrying out a run needs. */
export interface RunDriverOptions {
  readonly runs: RunStore;
  readonly runsFolder: string;
  readonly redactor: Redactor;
  readonly log: ScopedLogger;
  readonly followers: LogFollowers;
  readonly secrets: DeploySecrets;
  readonly targets: DeployTargets;
  readonly afterSuccess: AfterSuccess;
  readonly backoffMs: (attempt: number) => number;
  /** Held for the project while the run executes, so day-2 work on it (restart, undeploy) waits, and it waits for them. */
  readonly locks: ProjectLocks;
  /** A run's status or steps changed. */
  readonly changed: (runId: string, project: string, status: RunStatus) => void;
}

/**
 * Carries out one run from its private folder to its clean-up: the run's log, timeout and steps, the execution,
 * what follows a success, and the outcome (not yet recorded: the caller does that). Secret files are gone when it
 * resolves, whatever happened.
 */
export async function driveRun(options: RunDriverOptions, runId: string, controller: AbortController): Promise<{ run: RunRecord; outcome: RunOutcome }> {
  const { runs } = options;
  const run = runs.get(runId);
  const steps = new StepTracker(run.steps, (changed) => {
    runs.update(runId, { steps: changed });
    options.changed(runId, run.project, 'running');
  });
  const folder = RunFolder.create(options.runsFolder, runId);
  const log = new RunLog(runId, folder, options.redactor, options.followers);
  const timer = setTimeout(() => controller.abort('timeout' satisfies AbortReason), run.timeoutSeconds * 1000);
  runs.update(runId, { status: 'running', startedAt: new Date().toISOString() });
  log.note(`run ${runId}: deploy ${run.project} (${run.repository}@${run.ref}), requested by ${run.client} (${run.requestId})`);

  let outcome: RunOutcome;
  try {
    outcome = await options.locks.hold(run.project, `deploy ${runId}`, () => executeAndJudge(options, run, { folder, log, steps, signal: controller.signal }), {
      signal: controller.signal,
      waiting: (holder) => log.note(`waiting for the ${holder.activity} of ${run.project} (since ${holder.since}) to finish`),
    });
  } catch (error) {
    outcome = failureOutcome(error, controller.signal, run.timeoutSeconds, runId, options.log);
  } finally {
    clearTimeout(timer);
  }
  await cleanUpRun(folder, childEnvironment(folder, { runId, requestId: run.requestId }));
  steps.close();
  log.note(`run ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
  log.close();
  return { run, outcome };
}

/** Executes the run and turns the playbook's exit into an outcome; a success is followed by the after-success work. */
async function executeAndJudge(
  options: RunDriverOptions,
  run: RunRecord,
  parts: { folder: RunFolder; log: RunLog; steps: StepTracker; signal: AbortSignal },
): Promise<RunOutcome> {
  const { runs } = options;
  let failure: { task: string; reason: string | undefined } | undefined;
  const hooks: ExecutionHooks = {
    step: (name, status, detail) => parts.steps.set(name, status, detail),
    planned: (plan, target) =>
      runs.update(run.id, { plan, allocation: { server: target.server, host: target.host, port: target.port, modulePorts: target.modulePorts } }),
    started: (pid, attempt) => runs.update(run.id, { pid, attempts: attempt }),
    taskFailed: (task, reason) => {
      failure ??= { task, reason };
    },
  };
  const result = await executeRun({
    run,
    folder: parts.folder,
    log: parts.log,
    secrets: options.secrets,
    targets: options.targets,
    signal: parts.signal,
    hooks,
    backoffMs: options.backoffMs,
  });
  const outcome = playbookOutcome(run.id, result.exitCode, failure?.task, failure?.reason);
  if (outcome.status === 'succeeded') {
    parts.steps.set('health', 'succeeded');
    await options.afterSuccess.carryOut(run.id, result.handles, () => toDetail(runs.get(run.id)), parts.log);
  }
  return outcome;
}
