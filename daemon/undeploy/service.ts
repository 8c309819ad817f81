import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError, describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { Redactor } from '../core/redactor.js';
import { ErrorCodes } from '../protocol/errors.js';
import {
  UNDEPLOY_STEPS,
  UndeployProgress,
  type UndeployRemoved,
  type UndeployResult,
  type UndeployStatus,
  type UndeployStep,
  type UndeployStepName,
} from '../protocol/undeploy.js';
import type { CiSecrets, RemoteShell, UndeployCaller, UndeployTarget, UndeployTargets } from './ports.js';
import { remoteCommand } from '../core/shell.js';
import { CONTAINERS_SCRIPT, FIREWALL_SCRIPT, FOLDER_SCRIPT, IMAGES_SCRIPT, VOLUMES_SCRIPT, parseLines } from './remote.js';

/**
 * Work that follows every successful undeploy, e.g. archiving the project's releases; `note` adds a line to the
 * undeploy's warnings. A hook that fails is noted; the undeploy stays succeeded.
 */
export type AfterUndeployHook = (undeploy: UndeployResult, note: (message: string) => void) => Promise<void>;

/** What the undeploy service is built from. */
export interface UndeployDependencies {
  readonly targets: UndeployTargets;
  readonly ciSecrets: CiSecrets;
  readonly locks: ProjectLocks;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  readonly redactor: Redactor;
  readonly log: ScopedLogger;
}

/** A project name as the protocol allows it: it becomes part of a path on the server, so it is checked again here. */
const PROJECT = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The longest one remote step may take (compose down of a stuck container, a slow image removal). */
const STEP_TIMEOUT_MS = 5 * 60_000;

interface Running {
  readonly controller: AbortController;
  readonly state: State;
  readonly done: Promise<UndeployResult>;
}

/** {@link UndeployRemoved} while it is filled in. */
interface MutableRemoved {
  containers: number;
  networks: number;
  volumes: string[];
  keptVolumes: string[];
  images: string[];
  folder: boolean;
  firewallPorts: number[];
  githubSecrets: string[];
  modules: string[];
}

/** One undeploy's result as it is being built. */
class State {
  status: UndeployStatus = 'running';
  readonly steps: { name: UndeployStepName; status: UndeployStep['status']; detail?: string }[] = UNDEPLOY_STEPS.map((name) => ({ name, status: 'pending' }));
  removed: MutableRemoved = {
    containers: 0,
    networks: 0,
    volumes: [],
    keptVolumes: [],
    images: [],
    folder: false,
    firewallPorts: [],
    githubSecrets: [],
    modules: [],
  };
  readonly warnings: string[] = [];
  error: string | null = null;
  finishedAt: string | null = null;
  readonly startedAt = new Date().toISOString();

  constructor(
    readonly project: string,
    readonly server: string,
    readonly keepData: boolean,
  ) {}

  snapshot(): UndeployResult {
    return {
      project: this.project,
      server: this.server,
      keepData: this.keepData,
      status: this.status,
      steps: this.steps.map((step) => ({ ...step })),
      removed: { ...this.removed } satisfies UndeployRemoved,
      warnings: [...this.warnings],
      error: this.error,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
    };
  }
}

/**
 * Takes projects off their servers (`undeploy/start`): on the server, the containers with their networks (and
 * volumes unless data is kept), the images nothing else uses, /opt/services/<project> and its UFW rules; then, in the
 * daemon, the CI secrets Zavhoz pushed for it and its allocations, then the after-undeploy hooks. One undeploy per
 * project at a time, and never beside a deploy of it (it waits under the project lock). Every undeploy is audited
 * at its start and its end.
 */
export class UndeployService {
  /** Projects whose undeploy is being set up (its allocation read, its start audited): not running yet, not startable. */
  private readonly starting = new Set<string>();
  private readonly running = new Map<string, Running>();
  private readonly hooks: AfterUndeployHook[] = [];

  constructor(private readonly dependencies: UndeployDependencies) {}

  /** Registers work to run after each successful undeploy (the release store archives the project's releases). */
  afterUndeploy(hook: AfterUndeployHook): void {
    this.hooks.push(hook);
  }

  /**
   * Starts undeploying a project and returns its first state; `done` resolves with the final one (it never rejects).
   * Throws NotFound for a project with no allocation, Conflict while one of it is running already.
   */
  async start(project: string, keepData: boolean, caller: UndeployCaller): Promise<{ state: UndeployResult; done: Promise<UndeployResult> }> {
    if (!PROJECT.test(project)) throw new ZavhozError(ErrorCodes.InvalidInput, `"${project}" is not a project name.`);
    if (this.running.has(project) || this.starting.has(project)) {
      throw new ZavhozError(ErrorCodes.Conflict, `Project ${project} is being undeployed already. Wait for it, or cancel it with \`zavhoz undeploy --project ${project} --cancel\`.`);
    }
    // Claimed before the first await: a second start meanwhile is refused as above.
    this.starting.add(project);
    try {
      return await this.begin(project, keepData, caller);
    } finally {
      this.starting.delete(project);
    }
  }

  private async begin(project: string, keepData: boolean, caller: UndeployCaller): Promise<{ state: UndeployResult; done: Promise<UndeployResult> }> {
    const target = await this.dependencies.targets.targetOf(project);
    if (!target) {
      throw new ZavhozError(
        ErrorCodes.NotFound,
        `Project ${project} is not deployed anywhere: it has no allocation. \`zavhoz allocation list\` shows the projects Zavhoz placed on servers.`,
      );
    }
    const controller = new AbortController();
    const state = new State(project, target.server, keepData);
    await this.dependencies.audit.record({
      client: caller.client,
      requestId: caller.requestId,
      action: 'undeploy-start',
      subject: `project:${project}`,
      detail: { server: target.server, keepData },
    });
    const done = this.run(state, { ...caller, signal: controller.signal })
      // Nobody may be waiting (start without `wait`): a failure of the bookkeeping itself must not go unhandled.
      .catch((error: unknown) => {
        this.dependencies.log.error('undeploy bookkeeping failed', { project, error: describeError(error) });
        state.status = 'failed';
        state.error ??= `The undeploy of ${project} could not be recorded: ${describeError(error)}`;
        return state.snapshot();
      })
      .finally(() => this.running.delete(project));
    this.running.set(project, { controller, state, done });
    return { state: state.snapshot(), done };
  }

  /** Cancels the project's running undeploy and waits for it to stop. */
  async cancel(project: string): Promise<UndeployResult> {
    const running = this.running.get(project);
    if (!running) throw new ZavhozError(ErrorCodes.NotFound, `No undeploy of ${project} is running.`);
    running.controller.abort(new ZavhozError(ErrorCodes.RequestCancelled, `The undeploy of ${project} was cancelled.`));
    return running.done;
  }

  /** Cancels every running undeploy and waits for them (daemon shutdown). */
  async shutdown(): Promise<void> {
    const all = [...this.running.values()];
    for (const running of all) running.controller.abort(new ZavhozError(ErrorCodes.RequestCancelled, 'The daemon is shutting down.'));
    await Promise.all(all.map((running) => running.done));
  }

  private async run(state: State, caller: UndeployCaller & { signal: AbortSignal }): Promise<UndeployResult> {
    const { locks } = this.dependencies;
    try {
      this.step(state, 'wait', 'running');
      await locks.hold(
        state.project,
        `undeploy of ${state.project}`,
        async () => {
          this.step(state, 'wait', 'succeeded');
          await this.work(state, caller);
        },
        {
          signal: caller.signal,
          waiting: (holder) => this.step(state, 'wait', 'running', `waiting for ${holder.activity}`),
          // Another member's daemon works on the project: the undeploy waits for it (cancellable) rather than being refused.
          queue: { waiting: (_holder, message) => this.step(state, 'wait', 'running', message) },
        },
      );
      state.status = 'succeeded';
    } catch (error) {
      const cancelled = caller.signal.aborted || (error instanceof ZavhozError && error.code === ErrorCodes.RequestCancelled);
      state.status = cancelled ? 'cancelled' : 'failed';
      const current = state.steps.find((step) => step.status === 'running');
      const message = this.dependencies.redactor.redact(describeError(error));
      if (current) this.step(state, current.name, 'failed', message);
      state.error = cancelled
        ? `The undeploy of ${state.project} was cancelled${current ? ` during ${current.name}` : ''}; its allocation is kept. Run \`zavhoz undeploy --project ${state.project}\` again to finish it.`
        : `${message} The allocation of ${state.project} is kept; run \`zavhoz undeploy --project ${state.project}\` again once that is fixed.`;
    }
    for (const step of state.steps) if (step.status === 'pending') step.status = 'skipped';
    state.finishedAt = new Date().toISOString();
    await this.dependencies.audit.record({
      client: caller.client,
      requestId: caller.requestId,
      action: 'undeploy',
      subject: `project:${state.project}`,
      detail: {
        server: state.server,
        keepData: state.keepData,
        outcome: state.status,
        containers: state.removed.containers,
        volumes: state.removed.volumes,
        keptVolumes: state.removed.keptVolumes,
        images: state.removed.images,
        folder: state.removed.folder,
        firewallPorts: state.removed.firewallPorts.map(String),
        githubSecrets: state.removed.githubSecrets,
        modules: state.removed.modules,
      },
    });
    this.dependencies.log.info('undeploy ended', { project: state.project, server: state.server, status: state.status });
    this.announce(state, 'after');
    return state.snapshot();
  }

  /** The steps, under the project lock. */
  private async work(state: State, caller: UndeployCaller & { signal: AbortSignal }): Promise<void> {
    const { targets } = this.dependencies;
    const target = await targets.targetOf(state.project);
    if (!target) throw new ZavhozError(ErrorCodes.NotFound, `Project ${state.project} has no allocation any more: something released it while this undeploy waited.`);
    this.step(state, 'connect', 'running');
    const use = { client: caller.client, requestId: caller.requestId, action: 'ssh', detail: { server: target.server, purpose: 'undeploy', project: state.project } };
    const shell = await targets.openShell(target.server, use, caller.signal);
    try {
      this.step(state, 'connect', 'succeeded', target.server);
      await this.onServer(state, target, shell, caller.signal);
    } finally {
      shell.close();
    }
    this.step(state, 'github', 'running');
    const removal = await this.dependencies.ciSecrets(state.project, caller);
    state.removed.githubSecrets.push(...removal.removed);
    state.warnings.push(...removal.warnings);
    this.step(state, 'github', 'succeeded', removal.removed.length > 0 ? `${removal.removed.length} CI secret(s) deleted` : 'no CI secrets pushed for it');
    caller.signal.throwIfAborted();
    this.step(state, 'release', 'running');
    state.removed.modules.push(...(await targets.release(state.project)));
    this.step(state, 'release', 'succeeded', `released ${state.removed.modules.join(', ')}`);
    this.step(state, 'after', 'running');
    for (const hook of this.hooks) {
      try {
        await hook(state.snapshot(), (message) => state.warnings.push(message));
      } catch (error) {
        state.warnings.push(`after the undeploy: ${describeError(error)}`);
        this.dependencies.log.warn('after-undeploy step failed', { project: state.project, error: describeError(error) });
      }
    }
    this.step(state, 'after', 'succeeded');
  }

  private async onServer(state: State, target: UndeployTarget, shell: RemoteShell, signal: AbortSignal): Promise<void> {
    const exec = async (script: string, args: readonly string[], what: string): Promise<{ key: string; value: string }[]> => {
      const timeout = AbortSignal.timeout(STEP_TIMEOUT_MS);
      const result = await shell.exec(remoteCommand(script, args), { signal: AbortSignal.any([signal, timeout]) }).catch((error: unknown) => {
        if (timeout.aborted && !signal.aborted) throw new ZavhozError(ErrorCodes.Timeout, `${what} on ${target.server} did not finish within ${STEP_TIMEOUT_MS / 60_000} minutes.`);
        throw error;
      });
      if (result.code !== 0) {
        const said = result.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500);
        throw new ZavhozError(ErrorCodes.DeployFailed, `${what} on ${target.server} failed (exit ${String(result.code)})${said ? `: ${said}` : ''}.`);
      }
      return parseLines(result.stdout);
    };

    this.step(state, 'containers', 'running');
    const found = await exec(CONTAINERS_SCRIPT, [state.project, state.keepData ? '1' : '0'], 'Removing the containers');
    const values = (key: string): string[] => found.filter((line) => line.key === key).map((line) => line.value);
    if (found.some((line) => line.key === 'nodocker')) {
      this.step(state, 'containers', 'skipped', 'docker is not installed');
      this.step(state, 'images', 'skipped', 'docker is not installed');
    } else {
      const left = Number((values('left')[0] ?? '0').trim());
      if (left > 0) {
        throw new ZavhozError(ErrorCodes.DeployFailed, `${left} container(s) of ${state.project} are still on ${target.server} after compose down and docker rm; look at them with \`docker ps -a --filter label=com.docker.compose.project=${state.project}\`.`);
      }
      const named = values('volume');
      const mounted = [...new Set(values('mount'))];
      const stillThere = new Set(values('kept'));
      const volumes = await exec(VOLUMES_SCRIPT, [state.keepData ? '1' : '0', ...mounted], 'Removing volumes');
      const keptVolumes = new Set([...stillThere, ...volumes.filter((line) => line.key === 'kept').map((line) => line.value)]);
      state.removed.containers = values('container').length;
      state.removed.networks = values('network').length;
      state.removed.keptVolumes = [...keptVolumes].sort();
      state.removed.volumes = [...new Set([...named, ...mounted])].filter((volume) => !keptVolumes.has(volume)).sort();
      if (values('compose').includes('failed')) state.warnings.push(`compose down failed on ${target.server}; the containers were removed with docker rm instead.`);
      this.step(
        state,
        'containers',
        'succeeded',
        `${state.removed.containers} container(s), ${state.removed.networks} network(s), ${state.removed.volumes.length} volume(s) removed` +
          (state.removed.keptVolumes.length > 0 ? `; kept ${state.removed.keptVolumes.join(', ')}` : ''),
      );

      this.step(state, 'images', 'running');
      const images = new Map(values('image').map((value) => value.split(' ') as [string, string]));
      const removedImages = await exec(IMAGES_SCRIPT, [...images.entries()].flat(), 'Removing images');
      state.removed.images = removedImages.filter((line) => line.key === 'removed').map((line) => line.value);
      const kept = removedImages.filter((line) => line.key !== 'removed').map((line) => `${line.value} (${line.key === 'kept' ? 'used by another container' : 'could not be removed'})`);
      this.step(state, 'images', 'succeeded', `${state.removed.images.length} image(s) removed${kept.length > 0 ? `; kept ${kept.join(', ')}` : ''}`);
    }

    this.step(state, 'folder', 'running');
    const folder = await exec(FOLDER_SCRIPT, [state.project], `Removing /opt/services/${state.project}`);
    state.removed.folder = folder.some((line) => line.key === 'removed');
    this.step(state, 'folder', 'succeeded', state.removed.folder ? `/opt/services/${state.project} removed` : 'already gone');

    this.step(state, 'firewall', 'running');
    const firewall = await exec(FIREWALL_SCRIPT, target.ports.map(String), 'Closing the firewall ports');
    if (firewall.some((line) => line.key === 'notinstalled')) {
      this.step(state, 'firewall', 'skipped', 'UFW is not installed');
    } else {
      state.removed.firewallPorts = firewall.filter((line) => line.key === 'deleted').map((line) => Number(line.value));
      for (const line of firewall.filter((entry) => entry.key === 'error')) {
        state.warnings.push(
          `UFW on ${target.server} could not be changed (${line.value}); delete the rule by hand: sudo ufw delete allow ${target.ports.join('/tcp, ')}/tcp`,
        );
      }
      this.step(state, 'firewall', 'succeeded', state.removed.firewallPorts.length > 0 ? `closed ${state.removed.firewallPorts.join(', ')}` : 'no rule to delete');
    }
  }

  private step(state: State, name: UndeployStepName, status: UndeployStep['status'], detail?: string): void {
    const step = state.steps.find((candidate) => candidate.name === name);
    if (!step) return;
    step.status = status;
    if (detail === undefined) delete step.detail;
    else step.detail = detail;
    this.announce(state, name);
  }

  private announce(state: State, name: UndeployStepName): void {
    const step = state.steps.find((candidate) => candidate.name === name);
    this.dependencies.notifier.notify(UndeployProgress, {
      project: state.project,
      status: state.status,
      step: name,
      stepStatus: step?.status ?? 'pending',
      ...(step?.detail === undefined ? {} : { detail: step.detail }),
    });
  }
}
