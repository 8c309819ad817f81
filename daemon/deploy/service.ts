import path from 'node:path';
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { Redactor } from '../core/redactor.js';
import type { EnvPlan } from '../protocol/env.js';
import { ErrorCodes } from '../protocol/errors.js';
import { type RunDetail, RunsDidChange, type RunStatus, type RunSummary } from '../protocol/runs.js';
import type { Store } from '../store/store.js';
import { childEnvironment } from './ansible.js';
import { describeMissing, planEnvironment } from './envPlan.js';
import { readProjectTemplate } from './envTemplate.js';
import { cleanUpRun, executeRun, type ExecutionHooks } from './execution.js';
import { type AbortReason, failureOutcome, playbookOutcome, type RunOutcome, StepTracker } from './outcome.js';
import type { DeploySecrets, DeployTargets } from './ports.js';
import { recoverRuns } from './recovery.js';
import { RunFolder } from './runFolder.js';
import { type ConnectionNotifier, LogFollowers, RunLog } from './runLog.js';
import { newRunId, type RunOptions, type RunRecord, RunStore, toDetail, toSummary } from './runStore.js';

/** What the deploy service is built from. */
export interface DeployServiceOptions {
  readonly store: Store;
  /** The data folder's `runs/`: one private folder per run. */
  readonly runsFolder: string;
  readonly redactor: Redactor;
  readonly log: ScopedLogger;
  readonly notifier: Notifier;
  readonly connections: ConnectionNotifier;
  readonly audit: AuditLog;
  readonly secrets: DeploySecrets;
  readonly targets: DeployTargets;
  /** Wait before retry `attempt` of an unreachable host; default 1 s, 2 s, 4 s. */
  readonly backoffMs?: (attempt: number) => number;
}

/** A deploy as asked for by a client (params of `deploy/start`, defaults applied). */
export interface DeployRequest {
  readonly folder: string;
  readonly project: string;
  readonly repository: string;
  readonly ref: string;
  readonly bindings: Readonly<Record<string, string>>;
  readonly repoUrl?: string | undefined;
  readonly gitToken?: string | undefined;
  readonly registryToken?: string | undefined;
  readonly registry: string;
  readonly registryUser?: string | undefined;
  readonly timeoutSeconds: number;
}

/** Who asked: goes to the run, the audit log and every vault loan. */
export interface Caller {
  readonly client: string;
  readonly requestId: string;
}

/** Work that follows every successful deploy (the GitHub push of CI secrets); `note` writes to the run's log. */
export type SuccessHook = (run: RunDetail, note: (message: string) => void) => Promise<void>;

interface ActiveRun {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * Deploy runs: starts them (one per project at a time, later ones queue), follows them to their end, and answers
 * for them (list, detail, log, cancel). Runs survive in the store; their logs live in their private folders.
 */
export class DeployService {
  private readonly runs: RunStore;
  private readonly followers: LogFollowers;
  private readonly active = new Map<string, ActiveRun>();
  private readonly busyProjects = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly successHooks: SuccessHook[] = [];
  private stopping = false;

  constructor(private readonly options: DeployServiceOptions) {
    this.runs = new RunStore(options.store);
    this.followers = new LogFollowers(options.connections);
  }

  /** Marks runs a crash left `running` or `queued` as `interrupted` and removes their secret files. Call once at start. */
  async recover(): Promise<number> {
    return recoverRuns(this.runs, this.options.runsFolder, this.options.log, (id, project, status) =>
      this.options.notifier.notify(RunsDidChange, { id, project, status }),
    );
  }

  /** The env plan of a project folder (names, kinds, handles), without starting anything. */
  plan(folder: string, project: string, bindings: Readonly<Record<string, string>>): EnvPlan {
    const template = readProjectTemplate(absolute(folder));
    return planEnvironment(template, { project, bindings, catalog: this.options.secrets, modules: this.options.targets.modulesOf(project) });
  }

  /**
   * Starts a deploy, or queues it behind the project's running one. The plan is checked first, so a missing
   * variable is refused here, with the commands that fix it, rather than in a run.
   */
  start(request: DeployRequest, caller: Caller, follow?: { connectionId: number }): RunDetail {
    if (this.stopping) throw new ZavhozError(ErrorCodes.ShuttingDown, 'The daemon is shutting down; deploy again in a moment.');
    const folder = absolute(request.folder);
    const target = this.options.targets.targetFor(request.project);
    const plan = planEnvironment(readProjectTemplate(folder), {
      project: request.project,
      bindings: request.bindings,
      catalog: this.options.secrets,
      modules: Object.keys(target.modulePorts),
    });
    if (!plan.ready) {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `${plan.missing.length} variable(s) of ${request.project} have no value. Store them, then deploy again:\n${describeMissing(plan)}`,
        { missing: plan.missing },
      );
    }
    for (const [flag, handle] of [['--git-token', request.gitToken], ['--registry-token', request.registryToken]] as const) {
      if (handle !== undefined && !this.options.secrets.has(handle)) {
        throw new ZavhozError(ErrorCodes.NotFound, `${flag} ${handle}: the vault has no such handle. List handles with: zavhoz secret list`);
      }
    }
    const [owner] = request.repository.split('/');
    const options: RunOptions = {
      projectFolder: folder,
      bindings: request.bindings,
      repoUrl: request.repoUrl ?? `https://github.com/${request.repository}.git`,
      registry: request.registry,
      registryUser: request.registryUser ?? owner ?? request.repository,
      ...(request.gitToken ? { gitToken: request.gitToken } : {}),
      ...(request.registryToken ? { registryToken: request.registryToken } : {}),
    };
    const id = newRunId();
    const queued = this.busyProjects.has(request.project);
    this.runs.insert({
      id,
      project: request.project,
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
    });
    this.options.audit.record({
      client: caller.client,
      requestId: caller.requestId,
      action: 'deploy',
      subject: request.project,
      detail: { run: id, repository: request.repository, ref: request.ref, server: target.server },
    });
    this.options.log.info(queued ? 'deploy queued' : 'deploy started', { run: id, project: request.project, requestId: caller.requestId });
    this.changed(id, request.project, queued ? 'queued' : 'running');
    // Before the launch, so a follower gets the run's first line too.
    if (follow) this.followers.add(id, follow.connectionId);
    if (!queued) this.launch(id, request.project);
    return toDetail(this.runs.get(id));
  }

  /** Resolves with the run's final state once it has ended; an abort of `signal` cancels the run first. */
  async waitFor(id: string, signal: AbortSignal): Promise<RunDetail> {
    const ended = new Promise<void>((resolve) => {
      const set = this.waiters.get(id) ?? new Set<() => void>();
      set.add(resolve);
      this.waiters.set(id, set);
    });
    const status = this.runs.get(id).status;
    if (status !== 'queued' && status !== 'running') this.settle(id);
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
    this.successHooks.push(hook);
  }

  /** Runs newest first. */
  list(project: string | undefined, limit: number): RunSummary[] {
    return this.runs.list({ project, limit }).map(toSummary);
  }

  /** One run with its steps and plan. */
  get(id: string): RunDetail {
    return toDetail(this.runs.get(id));
  }

  /** Log lines from `from`; with `follow`, the connection then gets later lines as notifications. */
  log(id: string, from: number, follow: { connectionId: number } | undefined): { lines: string[]; next: number; status: RunStatus } {
    const run = this.runs.get(id);
    const { lines, total } = new RunFolder(run.folder).readLog(from);
    const live = run.status === 'queued' || run.status === 'running';
    if (follow && live) this.followers.add(id, follow.connectionId);
    return { lines, next: Math.max(total, from), status: run.status };
  }

  /** Cancels a queued or running run; answers once it has stopped. */
  async cancel(id: string): Promise<RunSummary> {
    const run = this.runs.get(id);
    const active = this.active.get(id);
    if (active) {
      active.controller.abort('cancelled' satisfies AbortReason);
      await active.done;
    } else if (run.status === 'queued') {
      this.finish(run, { status: 'cancelled', error: 'Cancelled before it started.', exitCode: null });
    } else {
      throw new ZavhozError(ErrorCodes.Conflict, `Run ${id} has already ended (${run.status}); there is nothing to cancel.`);
    }
    return toSummary(this.runs.get(id));
  }

  /** Stops every run (their playbooks are killed; they end `interrupted`), for daemon shutdown. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const run of this.runs.withStatus(['queued'])) {
      this.finish(run, { status: 'interrupted', error: 'The daemon shut down before this run started; deploy again.', exitCode: null });
    }
    for (const active of this.active.values()) active.controller.abort('shutdown' satisfies AbortReason);
    await Promise.all([...this.active.values()].map((active) => active.done));
  }

  private launch(id: string, project: string): void {
    this.busyProjects.add(project);
    const controller = new AbortController();
    const done = this.execute(id, controller)
      .catch((error: unknown) => this.crashed(id, error))
      .finally(() => {
        this.active.delete(id);
        this.busyProjects.delete(project);
        this.settle(id);
        if (!this.stopping) this.startNext(project);
      });
    this.active.set(id, { controller, done });
  }

  /** A run whose bookkeeping itself failed (run folder not writable, disk full): end it, leave no secret behind. */
  private crashed(id: string, error: unknown): void {
    this.options.log.error('deploy run could not be carried out', { run: id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    const run = this.runs.get(id);
    new RunFolder(run.folder).removeSecrets();
    if (run.status !== 'running') return;
    const message = error instanceof ZavhozError ? error.message : `Internal error in run ${id}: ${error instanceof Error ? error.message : String(error)}. The daemon log has the details.`;
    this.finish(run, { status: 'failed', error: this.options.redactor.redact(message), exitCode: null });
  }

  private startNext(project: string): void {
    const next = this.runs.withStatus(['queued']).find((run) => run.project === project);
    if (!next) return;
    this.runs.update(next.id, { status: 'running' });
    this.changed(next.id, project, 'running');
    this.launch(next.id, project);
  }

  private async execute(id: string, controller: AbortController): Promise<void> {
    const run = this.runs.get(id);
    const steps = new StepTracker(run.steps, (changed) => {
      this.runs.update(id, { steps: changed });
      this.changed(id, run.project, 'running');
    });
    const folder = RunFolder.create(this.options.runsFolder, id);
    const log = new RunLog(id, folder, this.options.redactor, this.followers);
    const timer = setTimeout(() => controller.abort('timeout' satisfies AbortReason), run.timeoutSeconds * 1000);
    this.runs.update(id, { status: 'running', startedAt: new Date().toISOString() });
    log.note(`run ${id}: deploy ${run.project} (${run.repository}@${run.ref}), requested by ${run.client} (${run.requestId})`);

    let failedTask: string | undefined;
    let failureReason: string | undefined;
    const hooks: ExecutionHooks = {
      step: (name, status, detail) => steps.set(name, status, detail),
      planned: (plan, target) =>
        this.runs.update(id, { plan, allocation: { server: target.server, host: target.host, port: target.port, modulePorts: target.modulePorts } }),
      started: (pid, attempt) => this.runs.update(id, { pid, attempts: attempt }),
      taskFailed: (task, reason) => {
        if (failedTask !== undefined) return;
        failedTask = task;
        failureReason = reason;
      },
    };
    let outcome: RunOutcome;
    try {
      const result = await executeRun({
        run,
        folder,
        log,
        secrets: this.options.secrets,
        targets: this.options.targets,
        signal: controller.signal,
        hooks,
        backoffMs: this.options.backoffMs ?? ((attempt) => 1000 * 2 ** (attempt - 1)),
      });
      outcome = playbookOutcome(id, result.exitCode, failedTask, failureReason);
      if (outcome.status === 'succeeded') {
        steps.set('health', 'succeeded');
        await this.confirm(result.handles, log);
        await this.followUp(id, log);
      }
    } catch (error) {
      outcome = failureOutcome(error, controller.signal, run.timeoutSeconds, id, this.options.log);
    } finally {
      clearTimeout(timer);
    }
    await cleanUpRun(folder, childEnvironment(folder, { runId: id, requestId: run.requestId }));
    steps.close();
    log.note(`run ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
    log.close();
    this.finish(run, outcome);
  }

  private async confirm(handles: readonly string[], log: RunLog): Promise<void> {
    try {
      await this.options.secrets.confirmDeployed(handles);
    } catch (error) {
      log.note(`the vault could not record the deployed handles: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async followUp(id: string, log: RunLog): Promise<void> {
    for (const hook of this.successHooks) {
      try {
        await hook(toDetail(this.runs.get(id)), (message) => log.note(message));
      } catch (error) {
        log.note(`after the deploy: ${error instanceof Error ? error.message : String(error)}`);
        this.options.log.warn('after-deploy step failed', { run: id, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  private finish(run: RunRecord, outcome: RunOutcome): void {
    this.runs.update(run.id, { ...outcome, finishedAt: new Date().toISOString(), pid: null });
    this.options.log.info('deploy finished', { run: run.id, project: run.project, status: outcome.status, requestId: run.requestId });
    this.changed(run.id, run.project, outcome.status);
    if (!this.active.has(run.id)) {
      // A run that never started has no RunLog to tell its followers it ended.
      this.followers.send(run.id, 0, [], true);
      this.settle(run.id);
    }
  }

  private settle(id: string): void {
    for (const resolve of this.waiters.get(id) ?? []) resolve();
    this.waiters.delete(id);
  }

  private changed(id: string, project: string, status: RunStatus): void {
    this.options.notifier.notify(RunsDidChange, { id, project, status });
  }
}

function absolute(folder: string): string {
  if (!path.isAbsolute(folder)) {
    throw new ZavhozError(ErrorCodes.InvalidInput, `The project folder must be an absolute path, got "${folder}".`);
  }
  return folder;
}
