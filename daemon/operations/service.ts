/**
 * Day-2 operations of deployed projects: status (one SSH exec per server, whatever the number of its projects),
 * redacted logs (tail or follow) and restart/stop/start under the project's lock, so they never overlap a deploy.
 */
import type { AuditLog } from '../audit/auditLog.js';
import { describeError, ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { TextRedactor } from '../core/redactor.js';
import type { SshConnection } from '../inventory/ssh.js';
import { ErrorCodes } from '../protocol/errors.js';
import {
  type ProjectStatus,
  type ServiceAction,
  type ServiceControlResult,
  type ServiceLogLine,
  type ServiceLogs,
  ServicesDidChange,
  ServicesLogLines,
  ServicesProgress,
  type ServiceStatus,
} from '../protocol/services.js';
import { readLogs } from './logs.js';
import type { ClientConnections, OperationsHost, Placement } from './ports.js';
import { controlScript, MARK, projectFolder, statusScript } from './remote.js';
import { parseServerReport, projectStatusOf, unreachableStatus } from './status.js';

/** Who asked: goes to the audit log and to every loan of a server's SSH key. */
export interface OperationCaller {
  readonly client: string;
  readonly requestId: string;
  /** The connection that asked: followed lines and progress go to it alone. */
  readonly connectionId: number;
}

/** Longest a server gets to answer the status script. */
const STATUS_TIMEOUT_MS = 30_000;

/** Longest compose gets to restart, stop or start a project. */
const CONTROL_TIMEOUT_MS = 5 * 60_000;

/** What {@link OperationsService} is built from. */
export interface OperationsOptions {
  readonly host: OperationsHost;
  readonly redactor: TextRedactor;
  readonly log: ScopedLogger;
  readonly notifier: Notifier;
  readonly locks: ProjectLocks;
  readonly audit: AuditLog;
  readonly connections: ClientConnections;
}

/** How often a follow checks that its connection is still there (a client that vanished cancels nothing). */
const CONNECTION_CHECK_MS = 2_000;

/** Options of a logs read. */
export interface LogsRequest {
  readonly project: string;
  readonly module?: string | undefined;
  readonly since?: string | undefined;
  readonly tail: number;
  readonly follow: boolean;
}

/**
 * Status, logs and restart/stop/start of deployed projects, for `services/*`: reads the allocator's placements,
 * talks to each server over the inventory's SSH, masks every vault value in what it answers.
 */
export class OperationsService {
  constructor(private readonly options: OperationsOptions) {}

  /** Every allocated project's containers (or one project's), asking each server once; by project name. */
  async status(project: string | undefined, caller: OperationCaller): Promise<ProjectStatus[]> {
    const placements = await this.placements(project);
    return placements.map(await this.statusView(placements, caller));
  }

  /**
   * Where the projects `status` shows live, ordered by project name (code units, as cursors compare): every one with
   * an allocation, or the one named (an error when it has none). A page of them goes to {@link statusView}.
   */
  async placements(project?: string): Promise<Placement[]> {
    const placements = project === undefined ? await this.options.host.placements() : [await this.placementOf(project)];
    return placements.sort((a, b) => (a.project < b.project ? -1 : a.project > b.project ? 1 : 0));
  }

  /**
   * Asks the servers of these projects for their containers, each server once, and answers each project's status
   * from what they said (a project that was not among them reads as not asked).
   */
  async statusView(placements: readonly Placement[], caller: OperationCaller): Promise<(placement: Placement) => ProjectStatus> {
    const byServer = new Map<string, Placement[]>();
    for (const placement of placements) byServer.set(placement.server, [...(byServer.get(placement.server) ?? []), placement]);
    const rows = (await Promise.all([...byServer.entries()].map(([server, group]) => this.statusOfServer(server, group, caller)))).flat();
    const byProject = new Map(rows.map((row) => [row.project, row]));
    return (placement) => byProject.get(placement.project) ?? unreachableStatus(placement, `${placement.server} was not asked about ${placement.project}.`);
  }

  /**
   * The containers' logs, redacted. With `follow`, lines go to the caller's connection as `services/log` until the
   * logs end, `signal` aborts (the client cancelled) or the connection goes away.
   */
  async logs(request: LogsRequest, caller: OperationCaller, signal: AbortSignal): Promise<ServiceLogs> {
    const placement = await this.placementOf(request.project);
    const { connections } = this.options;
    const gone = new AbortController();
    const watch = request.follow ? setInterval(() => connections.isConnected(caller.connectionId) || gone.abort(), CONNECTION_CHECK_MS) : undefined;
    const onLines = (lines: ServiceLogLine[]): void => {
      const params = { requestId: caller.requestId, project: placement.project, lines };
      if (!connections.notifyConnection(caller.connectionId, ServicesLogLines, params)) gone.abort();
    };
    try {
      return await this.readLogs(placement, request, caller, { signal: AbortSignal.any([signal, gone.signal]), onLines });
    } finally {
      clearInterval(watch);
      if (gone.signal.aborted) this.options.log.info('service logs follow ended: the client went away', { project: placement.project, requestId: caller.requestId });
    }
  }

  private readLogs(placement: Placement, request: LogsRequest, caller: OperationCaller, follow: { signal: AbortSignal; onLines(lines: ServiceLogLine[]): void }): Promise<ServiceLogs> {
    return this.withServer(placement, caller, 'service-logs', follow.signal, async (ssh) => {
      const status = await this.readStatus(ssh, placement, follow.signal);
      const chosen = this.choose(status, request.module);
      if (chosen.length === 0) throw this.noContainers(status, request.module);
      const services = [...new Set(chosen.map((service) => service.service))];
      const containers = chosen.map((service) => ({ id: service.container, service: service.service }));
      this.options.log.info('service logs', { project: placement.project, server: placement.server, containers: containers.length, follow: request.follow, requestId: caller.requestId });
      const read = await readLogs(ssh, { containers, tail: request.tail, since: request.since, follow: request.follow }, this.options.redactor, follow);
      return { project: placement.project, server: placement.server, services, lines: read.lines, truncated: read.truncated };
    });
  }

  /**
   * Restarts, stops or starts the project's containers (or one module's) with compose, holding the project: while a
   * deploy or another operation of it runs, this waits (telling the caller for whom, as `services/progress`) or
   * gives up when `signal` aborts. Once compose runs, it runs to the end (or its timeout).
   */
  async control(
    request: { readonly project: string; readonly action: ServiceAction; readonly module?: string | undefined },
    caller: OperationCaller,
    signal: AbortSignal,
  ): Promise<ServiceControlResult> {
    const placement = await this.placementOf(request.project);
    const { project, action } = request;
    let waitedFor: string | undefined;
    return this.options.locks.hold(
      project,
      `${action} of ${project}`,
      () =>
        this.withServer(placement, caller, `service-${action}`, signal, async (ssh) => {
          const before = await this.readStatus(ssh, placement, signal);
          const chosen = request.module === undefined ? [] : this.choose(before, request.module);
          if (request.module !== undefined && chosen.length === 0) throw this.noContainers(before, request.module);
          const named = [...new Set(chosen.map((service) => service.service))];
          // From here on the request's cancellation no longer applies: a compose stop or restart cut off half-way
          // leaves the project half done, and compose would go on on the server anyway. Only the timeout ends it.
          const outcome = await ssh.exec(controlScript(project, action, named), { signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS) });
          const output = this.options.redactor.redact(outcome.stdout + outcome.stderr).trim();
          await this.options.audit.record({
            client: caller.client,
            requestId: caller.requestId,
            action: `service-${action}`,
            subject: project,
            detail: { server: placement.server, services: named.length > 0 ? named : ['all'], outcome: outcome.code === 0 ? 'ok' : 'failed' },
          });
          if (outcome.code !== 0) throw this.controlFailed(placement, action, output);
          const after = await this.readStatus(ssh, placement);
          const services = named.length > 0 ? named : [...new Set(after.services.map((service) => service.service))];
          this.options.log.info(`service ${action}`, { project, server: placement.server, services, requestId: caller.requestId });
          this.options.notifier.notify(ServicesDidChange, { project, action, services });
          return { project, action, services, ...(waitedFor === undefined ? {} : { waitedFor }), status: after };
        }),
      {
        signal: signal,
        waiting: (holder) => {
          waitedFor = holder.activity;
          const message = `waiting for the ${holder.activity} of ${project} (since ${holder.since}) to finish`;
          this.options.log.info(`service ${action} waits`, { project, holder: holder.activity, requestId: caller.requestId });
          this.options.connections.notifyConnection(caller.connectionId, ServicesProgress, { requestId: caller.requestId, project, message });
        },
      },
    );
  }

  /** A project's placement, or an error saying it was never deployed. */
  private async placementOf(project: string): Promise<Placement> {
    const placement = (await this.options.host.placements(project))[0];
    if (!placement) {
      throw new ZavhozError(
        ErrorCodes.NotFound,
        `Project ${project} has no allocation, so it was never deployed (or was released). Deploy it with \`zavhoz deploy FOLDER --project ${project} --repo OWNER/NAME\`.`,
      );
    }
    if (placement.problem) throw new ZavhozError(ErrorCodes.PreconditionFailed, placement.problem);
    return placement;
  }

  private async statusOfServer(server: string, group: readonly Placement[], caller: OperationCaller): Promise<ProjectStatus[]> {
    const problem = group.find((placement) => placement.problem)?.problem;
    if (problem) return group.map((placement) => unreachableStatus(placement, problem));
    let ssh: SshConnection | undefined;
    // One deadline for the handshake and the script together: a server that hangs must not hold the whole answer.
    const deadline = AbortSignal.timeout(STATUS_TIMEOUT_MS);
    try {
      const use = { client: caller.client, requestId: caller.requestId, action: 'service-status', detail: { server } };
      ssh = await this.options.host.openSsh(server, use, deadline);
      const outcome = await ssh.exec(statusScript(group.map((placement) => placement.project)), { signal: deadline, maxOutputBytes: 16 * 1024 * 1024 });
      // One line per exec: tests count them (one status exec per server, whatever the number of its projects).
      this.options.log.info('service status read', { server, projects: group.length, requestId: caller.requestId });
      if (outcome.code !== 0) throw new Error(`the status script exited ${String(outcome.code)}: ${outcome.stderr.trim().slice(0, 500)}`);
      const report = parseServerReport(outcome.stdout);
      return group.map((placement) => projectStatusOf(placement, report));
    } catch (error) {
      const why = deadline.aborted
        ? `no answer within ${STATUS_TIMEOUT_MS / 1000} s (is the server or its Docker engine overloaded? \`docker ps\` there tells)`
        : describeError(error, this.options.redactor);
      const reason = `Could not read the containers on ${server}: ${why}`;
      return group.map((placement) => unreachableStatus(placement, reason));
    } finally {
      ssh?.close();
    }
  }

  /** One project's status over an open connection; an error if docker is missing. */
  private async readStatus(ssh: SshConnection, placement: Placement, signal?: AbortSignal): Promise<ProjectStatus> {
    const deadline = AbortSignal.timeout(STATUS_TIMEOUT_MS);
    const outcome = await ssh.exec(statusScript([placement.project]), { signal: signal ? AbortSignal.any([signal, deadline]) : deadline, maxOutputBytes: 16 * 1024 * 1024 }).catch((error: unknown) => {
      if (!deadline.aborted) throw error;
      throw new ZavhozError(ErrorCodes.Timeout, `The containers on ${placement.server} could not be read within ${STATUS_TIMEOUT_MS / 1000} s (is its Docker engine overloaded? \`docker ps\` there tells).`);
    });
    if (outcome.code !== 0) {
      throw new ZavhozError(ErrorCodes.Unreachable, `Could not read the containers on ${placement.server}: ${this.options.redactor.redact(outcome.stderr.trim().slice(0, 500))}`);
    }
    const status = projectStatusOf(placement, parseServerReport(outcome.stdout));
    if (status.state === 'no-docker') throw new ZavhozError(ErrorCodes.PreconditionFailed, status.error ?? 'Docker is missing.');
    return status;
  }

  /** The containers of a module (by allocated name) or compose service; all of them without one. */
  private choose(status: ProjectStatus, module: string | undefined): ServiceStatus[] {
    if (module === undefined) return [...status.services];
    return status.services.filter((service) => service.module === module || service.service === module);
  }

  private noContainers(status: ProjectStatus, module?: string): ZavhozError {
    if (status.services.length === 0) return new ZavhozError(ErrorCodes.PreconditionFailed, status.error ?? `${status.project} has no containers on ${status.server}.`);
    const known = [...new Set(status.services.flatMap((service) => [service.service, ...(service.module ? [service.module] : [])]))].sort();
    return new ZavhozError(ErrorCodes.NotFound, `${status.project} has no module or service ${String(module)} on ${status.server}. It has: ${known.join(', ')}.`);
  }

  private controlFailed(placement: Placement, action: ServiceAction, output: string): ZavhozError {
    if (output.includes(MARK.noFolder)) {
      return new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `${placement.project} was never deployed to ${placement.server} (no ${projectFolder(placement.project)}). Deploy it first: zavhoz deploy FOLDER --project ${placement.project} …`,
      );
    }
    if (output.includes(MARK.noCompose)) {
      return new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `Neither the compose v2 plugin (docker compose) nor docker-compose v1 is installed on ${placement.server}. Install one (e.g. sudo apt-get install docker-compose-plugin), then ${action} again.`,
      );
    }
    return new ZavhozError(ErrorCodes.PreconditionFailed, `compose ${action} of ${placement.project} failed on ${placement.server}: ${output.slice(-2000)}`);
  }

  /** Opens SSH to the placement's server for `work`, closing it after; an SSH failure names the server. */
  private async withServer<T>(placement: Placement, caller: OperationCaller, action: string, signal: AbortSignal, work: (ssh: SshConnection) => Promise<T>): Promise<T> {
    const use = { client: caller.client, requestId: caller.requestId, action, detail: { server: placement.server, project: placement.project } };
    const ssh = await this.options.host.openSsh(placement.server, use, signal);
    try {
      return await work(ssh);
    } finally {
      ssh.close();
    }
  }
}
