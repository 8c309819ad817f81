import path from 'node:path';
import type { AuditEntry, AuditLog } from '../audit/auditLog.js';
import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { Redactor } from '../core/redactor.js';
import type { DeployPlan } from '../protocol/deploy.js';
import type { EnvPlan } from '../protocol/env.js';
import { ErrorCodes } from '../protocol/errors.js';
import { RUN_TIMEOUT, type RunDetail, type RunKind, RunsDidChange, type RunStatus, type RunSummary } from '../protocol/runs.js';
import type { Database } from '../store/database.js';
import { AfterSuccess, type SuccessHook } from './afterSuccess.js';
import { absoluteFolder, acceptRequest, type DeployRequest } from './deployRequest.js';
import { planEnvironment } from './envPlan.js';
import { readComposeModules } from './composeModules.js';
import { deployModuleNames, planModules } from './modulePlan.js';
import { readProjectTemplate } from './envTemplate.js';
import type { RunOutcome } from './outcome.js';
import type { DeploySecrets, DeployTargets } from './ports.js';
import { ProjectQueue } from './projectQueue.js';
import { recoverRuns } from './recovery.js';
import { Releases } from './releases.js';
import { driveRun, type RunDriverOptions } from './runDriver.js';
import { RunEndWaiters } from './runEndWaiters.js';
import { RunFolder } from './runFolder.js';
import { type ConnectionNotifier, LogFollowers, readLogPage } from './runLog.js';
import { type NewRun, newRunId, type RunRecord, RunStore, toDetail, toSummary } from './runStore.js';

export type { DeployRequest } from './deployRequest.js';
export type { SuccessHook } from './afterSuccess.js';

/** What the deploy service is built from. */
export interface DeployServiceOptions {
  readonly store: Database;
  /** The data folder's `runs/`: one private folder per run. */
  readonly runsFolder: string;
  readonly redactor: Redactor;
  readonly log: ScopedLogger;
  readonly notifier: Notifier;
  readonly connections: ConnectionNotifier;
  readonly audit: AuditLog;
  readonly secrets: DeploySecrets;
  readonly targets: DeployTargets;
  /** One piece of work per project at a time, shared with day-2 operations. */
  readonly locks: ProjectLocks;
  /** How many releases per project to keep (the `releasesKept` setting). */
  readonly releasesKept: () => number;
  /** Wait before retry `attempt` of an unreachable host; default 1 s, 2 s, 4 s. */
  readonly backoffMs?: (attempt: number) => number;
}

/** Who asked: goes to the run, the audit log and every vault loan. */
export interface Caller {
  readonly client: string;
  readonly requestId: string;
}

/**
 * Deploy runs: starts them (one per project at a time, later ones queue), follows them to their end, and answers
 * for them (list, detail, log, cancel). Runs survive in the store; their logs live in their private folders.
 */
export class DeployService {
  private readonly runs: RunStore;
  private readonly followers: LogFollowers;
  private readonly waiters = new RunEndWaiters();
  private readonly afterSuccessWork: AfterSuccess;
  private readonly queue: ProjectQueue;
  private readonly driver: RunDriverOptions;
  /** Every project's releases: recorded by successful runs, redeployed by rollbacks. */
  readonly releases: Releases;

  constructor(private readonly options: DeployServiceOptions) {
    this.runs = new RunStore(options.store);
    this.followers = new LogFollowers(options.connections);
    this.afterSuccessWork = new AfterSuccess(options.secrets, options.log);
    this.releases = new Releases({ store: options.store, secrets: options.secrets, notifier: options.notifier, log: options.log, kept: options.releasesKept });
    this.driver = {
      runs: this.runs,
      runsFolder: options.runsFolder,
      redactor: options.redactor,
      log: options.log,
      followers: this.followers,
      secrets: options.secrets,
      targets: options.targets,
      afterSuccess: this.afterSuccessWork,
      releases: this.releases,
      backoffMs: options.backoffMs ?? ((attempt) => 1000 * 2 ** (attempt - 1)),
      locks: options.locks,
      audit: options.audit,
      changed: (id, project, status) => this.changed(id, project, status),
    };
    this.queue = new ProjectQueue({
      runs: this.runs,
      execute: (id, controller) => this.carryOut(id, controller),
      changed: (id, project, status) => this.changed(id, project, status),
      ended: (id) => this.waiters.release(id),
      failed: (project, error) => options.log.warn('the next queued run could not be started', { project, error: error instanceof Error ? error.message : String(error) }),
    });
  }

  /** Marks runs a crash left `running` or `queued` as `interrupted` and removes their secret files. Call once at start. */
  async recover(): Promise<number> {
    return recoverRuns(this.runs, this.options.runsFolder, this.options.log, (id, project, status) => this.changed(id, project, status));
  }

  /** The env plan of a project folder (names, kinds, handles), without starting anything. */
  async plan(folder: string, project: string, bindings: Readonly<Record<string, string>>): Promise<EnvPlan> {
    const template = readProjectTemplate(absoluteFolder(folder));
    // The modules a deploy runs: those the compose files publish (allocated by the deploy), as a run plans them.
    const modules = deployModuleNames(readComposeModules(folder));
    return planEnvironment(template, { project, bindings, catalog: await this.options.secrets.catalog(), modules });
  }

  /** What a deploy of a project folder would run and allocate (its modules, their allocations), without starting or allocating anything. */
  async planModules(folder: string, project: string): Promise<DeployPlan> {
    return planModules(absoluteFolder(folder), project, await this.options.targets.allocationsOf(project));
  }

  /**
   * Starts a deploy, or queues it behind the project's running one. The plan is checked first, so a missing
   * variable is refused here, with the commands that fix it, rather than in a run.
   */
  async start(request: DeployRequest, caller: Caller, follow?: { connectionId: number }): Promise<RunDetail> {
    if (this.queue.stopped) throw new ZavhozError(ErrorCodes.ShuttingDown, 'The daemon is shutting down; deploy again in a moment.');
    const { target, plan, options } = await acceptRequest(request, this.options.secrets, this.options.targets);
    const id = newRunId();
    const queued = !this.queue.claim(request.project);
    const run: NewRun = {
      id,
      project: request.project,
      kind: 'deploy',
      status: queued ? 'queued' : 'running',
      repository: request.repository,
      ref: request.ref,
      client: caller.client,
      requestId: caller.requestId,
      createdAt: new Date().toISOString(),
      folder: path.join(this.options.runsFolder, id),
      timeoutSeconds: request.timeoutSeconds,
      options,
      allocation: { server: target.server, host: target.host, port: target.port, modulePorts: target.modulePorts },
      plan,
    };
    await this.insertRun(run, queued, {
      client: caller.client,
      requestId: caller.requestId,
      action: 'deploy',
      subject: request.project,
      detail: { run: id, repository: request.repository, ref: request.ref, server: target.server },
    });
    this.options.log.info(queued ? 'deploy queued' : 'deploy started', { run: id, project: request.project, requestId: caller.requestId });
    return this.begin(run, queued, follow);
  }

  /**
   * Starts a rollback run that redeploys a release exactly (default: the one before the current release), or queues
   * it behind the project's running deploy.
   */
  async rollback(request: { project: string; to?: string | undefined }, caller: Caller, follow?: { connectionId: number }): Promise<RunDetail> {
    if (this.queue.stopped) throw new ZavhozError(ErrorCodes.ShuttingDown, 'The daemon is shutting down; roll back again in a moment.');
    const release = await this.releases.rollbackTarget(request.project, request.to);
    const id = newRunId();
    const queued = !this.queue.claim(request.project);
    const run: NewRun = {
      id,
      project: request.project,
      kind: 'rollback',
      rollbackTo: release.id,
      status: queued ? 'queued' : 'running',
      repository: release.repository,
      ref: release.commit,
      client: caller.client,
      requestId: caller.requestId,
      createdAt: new Date().toISOString(),
      folder: path.join(this.options.runsFolder, id),
      timeoutSeconds: RUN_TIMEOUT.default,
      options: { projectFolder: '', bindings: {}, ...release.options, healthPaths: release.healthPaths },
      allocation: release.allocation,
      plan: release.plan,
    };
    await this.insertRun(run, queued, {
      client: caller.client,
      requestId: caller.requestId,
      action: 'rollback',
      subject: request.project,
      detail: { run: id, release: release.id, number: release.number, commit: release.commit, server: release.server },
    });
    this.options.log.info(queued ? 'rollback queued' : 'rollback started', { run: id, project: request.project, release: release.id, requestId: caller.requestId });
    return this.begin(run, queued, follow);
  }

  /**
   * Records a deploy, rollback or undeploy that was let through but could not start (an approved request whose start
   * was refused) as a failed run saying why, so it shows where runs show and ends the wait of whoever follows it.
   * Answers the run's id.
   */
  async recordNotStarted(request: NotStartedRun, caller: Caller, reason: string): Promise<string> {
    const id = newRunId();
    const now = new Date().toISOString();
    const error = this.options.redactor.redact(`The ${request.kind} could not start: ${reason}`);
    const run: NewRun = {
      id,
      project: request.project,
      kind: request.kind,
      ...(request.rollbackTo ? { rollbackTo: request.rollbackTo } : {}),
      status: 'running',
      repository: request.repository,
      ref: request.ref,
      client: caller.client,
      requestId: caller.requestId,
      createdAt: now,
      folder: path.join(this.options.runsFolder, id),
      timeoutSeconds: request.timeoutSeconds,
      options: { projectFolder: request.folder, bindings: {}, repoUrl: '', registry: '', registryUser: '' },
      allocation: null,
      plan: null,
    };
    // Stored as failed at once, in one transaction: it never runs, so no recovery may ever pick it up as running.
    await this.options.store.transaction(async (tx) => {
      await this.runs.insert(run, tx);
      await this.runs.update(id, { status: 'failed', finishedAt: now, exitCode: null, error, steps: [] }, tx);
    });
    this.options.log.info(`${request.kind} could not start`, { run: id, project: request.project, requestId: caller.requestId });
    this.changed(id, request.project, 'failed');
    return id;
  }

  /** Stores a new run with its audit entry; a run that claimed its idle project lets go of it if that fails. */
  private async insertRun(run: NewRun, queued: boolean, audit: AuditEntry): Promise<void> {
    try {
      await this.options.store.transaction(async (tx) => {
        await this.runs.insert(run, tx);
        await this.options.audit.record(audit, tx);
      });
    } catch (error) {
      if (!queued) this.queue.release(run.project);
      throw error;
    }
  }

  /** Announces a stored run and launches it (its project claimed), or leaves it queued. */
  private async begin(run: NewRun, queued: boolean, follow: { connectionId: number } | undefined): Promise<RunDetail> {
    this.changed(run.id, run.project, queued ? 'queued' : 'running');
    // Before the launch, so a follower gets the run's first line too.
    if (follow) this.followers.add(run.id, follow.connectionId);
    if (queued) this.queue.kick(run.project);
    else this.queue.launch(run.id, run.project);
    return toDetail(await this.runs.get(run.id));
  }

  /** Resolves with the run's final state once it has ended; an abort of `signal` cancels the run first. */
  async waitFor(id: string, signal: AbortSignal): Promise<RunDetail> {
    const ended = this.waiters.until(id);
    if (!isLive((await this.runs.get(id)).status)) this.waiters.release(id);
    const onAbort = (): void => void this.cancel(id).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await ended;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, `The request was cancelled, and with it run ${id}.`);
    return this.get(id);
  }

  /** Registers work to run after each successful deploy; its failure is noted in the run's log, the run stays succeeded. */
  afterSuccess(hook: SuccessHook): void {
    this.afterSuccessWork.add(hook);
  }

  /** Runs newest first. */
  async list(project: string | undefined, limit: number, before?: string): Promise<RunSummary[]> {
    return (await this.runs.list({ project, limit, before })).map(toSummary);
  }

  /** One run with its steps and plan. */
  async get(id: string): Promise<RunDetail> {
    return toDetail(await this.runs.get(id));
  }

  /** A page of log lines from `from` (see RunsLog); with `follow`, the page that reaches the end makes the connection get later lines as notifications. */
  async log(
    id: string,
    page: { from: number; limit: number; maxBytes: number },
    follow: { connectionId: number } | undefined,
  ): Promise<{ lines: string[]; next: number; total: number; more: boolean; status: RunStatus }> {
    const run = await this.runs.get(id);
    const read = readLogPage(new RunFolder(run.folder), page.from, page.limit, page.maxBytes);
    // Following starts with the page that reaches the end: nothing is written between reading it and this.
    if (!read.more && follow && isLive(run.status)) this.followers.add(id, follow.connectionId);
    return { ...read, status: run.status };
  }

  /** Cancels a queued or running run; answers once it has stopped. */
  async cancel(id: string): Promise<RunSummary> {
    const run = await this.runs.get(id);
    if (await this.queue.abort(id, 'cancelled')) return toSummary(await this.runs.get(id));
    if (run.status !== 'queued') {
      throw new ZavhozError(ErrorCodes.Conflict, `Run ${id} has already ended (${run.status}); there is nothing to cancel.`);
    }
    await this.recordOutcome(run, { status: 'cancelled', error: 'Cancelled before it started.', exitCode: null });
    return toSummary(await this.runs.get(id));
  }

  /** Stops every run (their playbooks are killed; they end `interrupted`), for daemon shutdown. */
  async shutdown(): Promise<void> {
    const stopped = this.queue.stopAll('shutdown');
    const queued = await this.runs.withStatus(['queued']);
    for (const run of queued) {
      await this.recordOutcome(run, { status: 'interrupted', error: 'The daemon shut down before this run started; deploy again.', exitCode: null });
    }
    await stopped;
  }

  /** Carries out a run the queue launched and records how it ended; never rejects. */
  private async carryOut(id: string, controller: AbortController): Promise<void> {
    try {
      const { run, outcome } = await driveRun(this.driver, id, controller);
      await this.recordOutcome(run, outcome);
    } catch (error) {
      await this.recordCrash(id, error).catch((crash: unknown) =>
        this.options.log.error('deploy run could not be ended', { run: id, error: crash instanceof Error ? crash.message : String(crash) }),
      );
    }
  }

  /** A run whose bookkeeping itself failed (run folder not writable, disk full): end it, leave no secret behind. */
  private async recordCrash(id: string, error: unknown): Promise<void> {
    this.options.log.error('deploy run could not be carried out', { run: id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    const run = await this.runs.get(id);
    new RunFolder(run.folder).removeSecrets();
    if (run.status !== 'running') return;
    const message = error instanceof ZavhozError ? error.message : `Internal error in run ${id}: ${error instanceof Error ? error.message : String(error)}. The daemon log has the details.`;
    await this.recordOutcome(run, { status: 'failed', error: this.options.redactor.redact(message), exitCode: null });
  }

  /** Stores how a run ended and announces it; a run that never started also tells its followers and waiters. */
  private async recordOutcome(run: RunRecord, outcome: RunOutcome): Promise<void> {
    await this.runs.update(run.id, { ...outcome, finishedAt: new Date().toISOString(), pid: null });
    this.options.log.info('deploy finished', { run: run.id, project: run.project, status: outcome.status, requestId: run.requestId });
    this.changed(run.id, run.project, outcome.status);
    if (!this.queue.isActive(run.id)) {
      // A run that never started has no RunLog to tell its followers it ended.
      this.followers.send(run.id, 0, [], true);
      this.waiters.release(run.id);
    }
  }

  private changed(id: string, project: string, status: RunStatus): void {
    this.options.notifier.notify(RunsDidChange, { id, project, status });
  }
}

/** What {@link DeployService.recordNotStarted} records of a request that could not start (names and handles only). */
export interface NotStartedRun {
  readonly kind: RunKind;
  readonly project: string;
  readonly repository: string;
  readonly ref: string;
  /** A rollback: the release it was to redeploy, when it was named. */
  readonly rollbackTo?: string | undefined;
  readonly folder: string;
  readonly timeoutSeconds: number;
}

/** Queued or running: the run may still write to its log. */
function isLive(status: RunStatus): boolean {
  return status === 'queued' || status === 'running';
}
