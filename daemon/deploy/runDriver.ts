import type { AuditLog } from '../audit/auditLog.js';
import type { ScopedLogger } from '../core/logger.js';
import { ZavhozError } from '../core/errors.js';
import type { ProjectLease, ProjectLocks } from '../core/projectLocks.js';
import type { SharedLockEvent } from '../core/sharedLocks.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Redactor } from '../core/redactor.js';
import { RUN_LOG_STEP_PREFIX, type RunStatus } from '../protocol/runs.js';
import type { AfterSuccess } from './afterSuccess.js';
import { childEnvironment } from './ansible.js';
import { cleanUpRun, type ExecutionContext, executePass, executeRun, type ExecutionHooks, type ExecutionResult } from './execution.js';
import { type AbortReason, failureOutcome, playbookOutcome, type RunOutcome, StepTracker } from './outcome.js';
import { releasePass } from './passSpec.js';
import type { DeploySecrets, DeployTargets } from './ports.js';
import { releaseFacts } from './releaseFacts.js';
import type { Releases } from './releases.js';
import type { ReleaseRecord } from './releaseStore.js';
import { releaseRetiredModules } from './retiredModules.js';
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
  /** Where successful runs record their release, and rollbacks find theirs. */
  readonly releases: Releases;
  readonly backoffMs: (attempt: number) => number;
  /** Held for the project while the run executes, so day-2 work on it (restart, undeploy) waits, and it waits for them. */
  readonly locks: ProjectLocks;
  /** Where a successful deploy audits the modules it released. */
  readonly audit: AuditLog;
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
  const run = await runs.get(runId);
  const steps = new StepTracker(run.steps, (changed) => {
    // In the order they happen: the daemon's store writes queue in order.
    inBackground(options, runId, runs.update(runId, { steps: changed }));
    options.changed(runId, run.project, 'running');
  });
  const folder = RunFolder.create(options.runsFolder, runId);
  const log = new RunLog(runId, folder, options.redactor, options.followers);
  // The run's time starts when it runs: not while it waits for another member's work on the project.
  const arm = (): NodeJS.Timeout => setTimeout(() => controller.abort('timeout' satisfies AbortReason), run.timeoutSeconds * 1000);
  let timer = arm();
  await runs.update(runId, { status: 'running' });
  log.note(`run ${runId}: ${run.kind} ${run.project} (${run.repository}@${run.ref}), requested by ${run.client} (${run.requestId})`);

  let outcome: RunOutcome;
  try {
    const stop = (error: ZavhozError): void => controller.abort(error);
    const work = async (lease: ProjectLease): Promise<RunOutcome> => {
      // The run starts once it holds its project, not while it waited for it; `createdAt` keeps when it was asked.
      await runs.update(runId, { startedAt: new Date().toISOString() });
      return executeAndJudge(options, run, { folder, log, steps, signal: controller.signal, lease, stop });
    };
    outcome = await options.locks.hold(run.project, `${run.kind} ${runId}`, work, {
      signal: controller.signal,
      waiting: (holder) => log.note(`waiting for the ${holder.activity} of ${run.project} (since ${holder.since}) to finish`),
      // Another member's daemon works on the project: the run queues behind it (cancellable), rather than being refused.
      queue: {
        waiting: async (_holder, message) => {
          clearTimeout(timer);
          log.note(`${message}; this run starts once that is done (cancel it with: zavhoz run cancel ${runId})`);
          await runs.update(runId, { status: 'queued', waitingFor: message });
          options.changed(runId, run.project, 'queued');
        },
        taken: async () => {
          timer = arm();
          log.note(`${run.project} is free: the run starts`);
          await runs.update(runId, { status: 'running', waitingFor: null });
          options.changed(runId, run.project, 'running');
        },
      },
      // The connection holding the project across the team's daemons dropped: said in the log; the run stops before
      // its next step unless the lock is back by then, and at once if another member took it.
      lockEvents: (event) => {
        log.note(lockEventLine(run.project, event));
        if (event.kind === 'gone') stop(lockLostError(run, undefined, event.reason));
      },
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

/** The parts of a run being carried out. */
interface RunParts {
  readonly folder: RunFolder;
  readonly log: RunLog;
  readonly steps: StepTracker;
  readonly signal: AbortSignal;
  /** Whether this daemon still holds the project across the team's daemons. */
  readonly lease: ProjectLease;
  /** Stops the run (its playbook is killed) with what to do. */
  readonly stop: (error: ZavhozError) => void;
}

/** The run's log line for what became of the project's lock when its connection to the team database dropped. */
function lockEventLine(project: string, event: SharedLockEvent): string {
  if (event.kind === 'lost') {
    return `the connection to the team database that holds ${project}'s lock was lost (${event.reason}); taking the lock again — the run stops before its next step unless it is back by then`;
  }
  if (event.kind === 'retaken') return `${project}'s lock was taken again on a new connection to the team database; the run goes on`;
  return `${project}'s lock could not be taken again (${event.reason}): the run stops so that no two members work on ${project} at once`;
}

/** Why a run stopped when its project's lock was lost: nothing more was done, and what to check before deploying again. */
function lockLostError(run: RunRecord, step: string | undefined, reason: string | undefined): ZavhozError {
  return new ZavhozError(
    ErrorCodes.StoreUnavailable,
    `The run stopped${step ? ` before its ${step} step` : ''}: the connection to the team database that held ${run.project}'s lock was lost and the lock ${reason ? `could not be taken again (${reason})` : 'was not back yet'}, so another member could work on ${run.project} at the same time. Nothing more was done on the server; check what runs there with zavhoz service status --project ${run.project}, then deploy again once the team database answers (zavhoz team status).`,
  );
}

/**
 * Executes the run and turns the playbook's exit into an outcome. A success records a release and is followed by the
 * after-success work; a deploy whose new release fails on the server is rolled back to the previous release.
 */
async function executeAndJudge(options: RunDriverOptions, run: RunRecord, parts: RunParts): Promise<RunOutcome> {
  const { runs } = options;
  const begun = new Set<string>();
  const hooks: ExecutionHooks = {
    step: (name, status, detail) => {
      // A line where each step starts, so a reader of the log (the VS Code document) sees the steps in it.
      if (status === 'running' && !begun.has(name)) {
        begun.add(name);
        // Fail safe: no step starts while the project's lock across the team's daemons is not held.
        if (!parts.lease.held) parts.stop(lockLostError(run, name, undefined));
        parts.log.note(`${RUN_LOG_STEP_PREFIX.slice('[zavhoz] '.length)}${name}`);
      }
      parts.steps.set(name, status, detail);
    },
    planned: (plan, target) =>
      inBackground(options, run.id, runs.update(run.id, { plan, allocation: { server: target.server, host: target.host, port: target.port, modulePorts: target.modulePorts } })),
    started: (pid, attempt) => inBackground(options, run.id, runs.update(run.id, { pid, attempts: attempt })),
  };
  const context: ExecutionContext = {
    run,
    folder: parts.folder,
    log: parts.log,
    secrets: options.secrets,
    targets: options.targets,
    signal: parts.signal,
    hooks,
    backoffMs: options.backoffMs,
  };
  const redeployed = run.kind === 'rollback' && run.rollbackTo !== null ? await options.releases.get(run.rollbackTo) : undefined;
  const result = await executeRun(context, redeployed);
  const { failure } = result.playbook;
  const outcome = playbookOutcome(run.id, result.playbook.exitCode, failure?.task, failure?.reason);
  if (outcome.status === 'succeeded') {
    parts.steps.set('health', 'succeeded');
    try {
      await recordRelease(options, run, result, redeployed, parts.log);
    } catch (error) {
      parts.log.note(`the release could not be recorded (${error instanceof Error ? error.message : String(error)}); a later rollback cannot return to it`);
      options.log.error('release not recorded', { run: run.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    // After the new release is healthy and recorded, never before: the modules it no longer runs give their ports back.
    if (result.spec.retired && result.spec.retired.length > 0) await releaseRetiredModules(options, run, result.spec.retired, result.playbook.report, parts.log);
    await options.afterSuccess.carryOut(run.id, result.handles, async () => toDetail(await runs.get(run.id)), parts.log);
    return outcome;
  }
  const previous = run.kind === 'deploy' && failure?.rollback === true ? await options.releases.current(run.project) : undefined;
  if (previous === undefined) return outcome;
  if (run.options.noRollback === true) {
    return {
      ...outcome,
      error: `${outcome.error ?? ''} The failing release was left running (--no-rollback); go back to release ${previous.number} with: zavhoz rollback --project ${run.project} --to ${previous.id}`,
    };
  }
  return rollBack(context, result, previous, outcome, parts);
}

/** The same run puts the previous release back after its new one failed on the server; the run stays failed. */
async function rollBack(context: ExecutionContext, first: ExecutionResult, previous: ReleaseRecord, outcome: RunOutcome, parts: RunParts): Promise<RunOutcome> {
  const { run, log } = context;
  const to = `release ${previous.number} (${previous.id}, commit ${previous.commit.slice(0, 12)})`;
  log.note(`the new release failed on the server; rolling back to ${to}`);
  parts.steps.set('health', 'failed', `failed; rolling back to release ${previous.number}`);
  const second = await executePass(context, first, releasePass(previous), {
    step: () => undefined,
    started: (pid, attempt) => context.hooks.started(pid, attempt),
  });
  if (second.exitCode === 0) {
    log.note(`rolled back to ${to}: it runs and answers its health check again`);
    parts.steps.set('health', 'failed', `failed; rolled back to release ${previous.number}`);
    return { ...outcome, error: `${outcome.error ?? ''} Zavhoz rolled back to release ${previous.number} (${previous.id}), which runs again.` };
  }
  const why = second.failure ? `the task "${second.failure.task}" failed${second.failure.reason ? `: ${second.failure.reason}` : ''}` : `ansible-playbook exited ${second.exitCode}`;
  return {
    ...outcome,
    error: `${outcome.error ?? ''} Rolling back to release ${previous.number} (${previous.id}) failed too (${why}); the server may run neither release. Check it with zavhoz run log ${run.id}, then deploy or roll back again.`,
  };
}

/** Records the release a successful run left running; a run whose playbook reported none is noted in its log. */
async function recordRelease(options: RunDriverOptions, run: RunRecord, result: ExecutionResult, redeployed: ReleaseRecord | undefined, log: RunLog): Promise<void> {
  const facts = releaseFacts(result.playbook.report);
  if (facts === undefined) {
    log.note('the playbook reported no commit for this release, so none was recorded; a later rollback cannot return to it');
    return;
  }
  const { spec, target } = result;
  // A rollback ran its images by digest: each keeps the name the compose files gave it in the release it redeployed.
  const named = new Map(redeployed?.images.map((image) => [image.service, image.image]));
  const images = facts.images.map((image) => ({ ...image, image: named.get(image.service) ?? image.image }));
  const release = await options.releases.record({
    project: run.project,
    kind: run.kind,
    repository: run.repository,
    ref: redeployed?.ref ?? run.ref,
    commit: facts.commit,
    runId: run.id,
    createdAt: new Date().toISOString(),
    rolledBackTo: redeployed?.id ?? null,
    allocation: { server: target.server, host: target.host, port: spec.port, modulePorts: spec.modulePorts },
    images,
    plan: spec.plan,
    secrets: spec.versions,
    healthPaths: spec.healthPaths,
    options: spec.options,
  });
  await options.runs.update(run.id, { releaseId: release.id });
  log.note(`release ${release.number} (${release.id}): commit ${facts.commit}, ${facts.images.map((image) => `${image.service} ${image.digest}`).join(', ') || 'no images'}`);
}

/**
 * A progress write of a run (steps, plan, pid) that the run does not wait for; a failure is logged, the run goes on,
 * and its outcome is written (after it, in order) when it ends.
 */
function inBackground(options: Pick<RunDriverOptions, 'log'>, runId: string, write: Promise<void>): void {
  write.catch((error: unknown) => options.log.warn('run progress not saved', { run: runId, error: error instanceof Error ? error.message : String(error) }));
}
