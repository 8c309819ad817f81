import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { deployProject } from './env.js';
import { moduleName, type PageInfo, pageFields } from './fields.js';

/**
 * Day-2 operations of deployed projects: what runs (`services/status`), what it prints (`services/logs`, redacted)
 * and restart, stop and start (`services/control`). A project's containers are the compose project of its name in
 * `/opt/services/<project>` on the server its allocation names.
 */

/** Where a project stands on its server, as `services/status` found it. */
export const PROJECT_STATES = ['deployed', 'not-deployed', 'unreachable', 'no-docker'] as const;
/** One of {@link PROJECT_STATES}. */
export type ProjectState = (typeof PROJECT_STATES)[number];

/** A container's health as its image's health check reports it; `none` when the image has no health check. */
export type ServiceHealth = 'healthy' | 'unhealthy' | 'starting' | 'none';

/** One container of a deployed project (a compose service; a scaled service has several). */
export interface ServiceStatus {
  /** The compose service, e.g. `backend`. */
  readonly service: string;
  /** The allocated module whose port this container publishes, if any. */
  readonly module: string | null;
  /** The container's name on the server. */
  readonly container: string;
  /** The engine's state: `running`, `exited`, `restarting`, `paused`, `created`, `dead`. */
  readonly state: string;
  readonly health: ServiceHealth;
  /** Times the engine restarted it since it was created. */
  readonly restarts: number;
  /** The image reference the container was created from. */
  readonly image: string;
  /** The registry digest of that image (`repo@sha256:…`), when it was pulled from a registry. */
  readonly digest: string | null;
  /** When the container last started (ISO time), null if it never did; uptime is now minus this while running. */
  readonly startedAt: string | null;
  /** When it last stopped (ISO time), null while it never stopped. */
  readonly finishedAt: string | null;
  /** Exit code of its last run (meaningful when `state` is `exited`). */
  readonly exitCode: number | null;
  /**
   * Where the module it serves answers: `https://DOMAIN` when the module has a domain routed by the proxy, else
   * `http://host:port` when it publishes an allocated port.
   */
  readonly url: string | null;
}

/** The release a project's server runs, as far as Zavhoz knows: the newest recorded by a deploy or rollback. */
export interface CurrentRelease {
  readonly id: string;
  /** 1, 2, 3… per project. */
  readonly number: number;
  /** The commit SHA it deployed. */
  readonly commit: string;
  readonly createdAt: string;
}

/** One project on its server: its state there and its containers. */
export interface ProjectStatus {
  readonly project: string;
  readonly server: string;
  readonly host: string;
  readonly state: ProjectState;
  /** Its newest release, null when no deploy of it succeeded (or it was undeployed since). */
  readonly release: CurrentRelease | null;
  /** Why the state is not `deployed`, and what to do. */
  readonly error?: string;
  readonly services: readonly ServiceStatus[];
}

/**
 * Per project, per container: state, health, restarts, image and digest, start time and URL. Every project with an
 * allocation (a page of them, by project name), or one; one SSH round trip per server of the page, whatever the
 * number of its projects. An unreachable server makes its projects' rows say so; the answer as a whole still comes.
 */
export const ServicesStatus = defineRequest(
  'services/status',
  () => z.strictObject({ project: deployProject.optional(), ...pageFields }),
  result<{ readonly projects: readonly ProjectStatus[] } & PageInfo>(),
);

/** Default and most lines per container `services/logs` reads. */
export const SERVICE_LOG_TAIL = { default: 200, max: 10_000 } as const;

/** `10m`, `2h`, `1d`, `30s`, or an ISO time: how far back `services/logs` reads. */
export const logSince = lazySchema(() => z
  .string()
  .max(64)
  .regex(/^(\d{1,6}[smhd]|\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?)$/, 'a duration like 10m, 2h, 1d or an ISO time'));

/** One log line of a container, redacted. */
export interface ServiceLogLine {
  readonly service: string;
  /** The engine's timestamp of the line (ISO, nanoseconds), empty if it had none. */
  readonly at: string;
  readonly text: string;
}

/**
 * The containers' logs, every vault value masked, merged in time order: the last `tail` lines per container (since
 * `since`), trimmed to the newest that fit in one answer (`truncated` then). With `follow`, the request stays open:
 * every line, first the tail, comes as a `services/log` notification to this connection only, and the request
 * answers when the containers' logs end; cancelling it (or disconnecting) stops the remote `docker logs`.
 */
export const ServicesLogs = defineRequest(
  'services/logs',
  () => z.strictObject({
    project: deployProject,
    /** A module (its allocated name) or a compose service; all of the project's containers when left out. */
    module: moduleName.optional(),
    since: logSince.optional(),
    tail: z.number().int().min(0).max(SERVICE_LOG_TAIL.max).default(SERVICE_LOG_TAIL.default),
    follow: z.boolean().default(false),
  }),
  result<ServiceLogs>(),
);

/** What `services/logs` answers. */
export interface ServiceLogs {
  readonly project: string;
  readonly server: string;
  /** The compose services read. */
  readonly services: readonly string[];
  /** Without `follow`: the lines. With `follow`: empty (they came as notifications). */
  readonly lines: readonly ServiceLogLine[];
  /** True when older lines were left out to keep the answer within the message limit. */
  readonly truncated: boolean;
}

/** Log lines of a followed `services/logs` request (redacted), to the connection that made it. */
export const ServicesLogLines = defineNotification(
  'services/log',
  () => z.strictObject({
    /** The `_requestId` of the `services/logs` request these lines answer. */
    requestId: z.string(),
    project: z.string(),
    lines: z.array(z.strictObject({ service: z.string(), at: z.string(), text: z.string() })),
  }),
);

/** What `services/control` does to the containers. */
export const SERVICE_ACTIONS = ['restart', 'stop', 'start'] as const;
/** One of {@link SERVICE_ACTIONS}. */
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

/**
 * Restarts, stops or starts a project's containers (or one module's) with compose on its server. Holds the project
 * like a deploy does: issued while a deploy (or another operation) of the project runs, it waits for it to end
 * (`services/progress` says for what), and cancelling it while it waits gives up; once compose runs, it runs to
 * the end. Audited; announced with `services/didChange`.
 */
export const ServicesControl = defineRequest(
  'services/control',
  () => z.strictObject({
    project: deployProject,
    action: z.enum(SERVICE_ACTIONS),
    /** A module (its allocated name) or a compose service; all of the project's services when left out. */
    module: moduleName.optional(),
  }),
  result<ServiceControlResult>(),
);

/** What `services/control` answers: what was done, and the project's status after it. */
export interface ServiceControlResult {
  readonly project: string;
  readonly action: ServiceAction;
  /** The compose services acted on. */
  readonly services: readonly string[];
  /** Who held the project while this waited, when it had to wait. */
  readonly waitedFor?: string;
  readonly status: ProjectStatus;
}

/**
 * What a `services/control` request is waiting for, to the connection that made it (e.g. `waiting for deploy
 * run_7f3k9x2mab of shop`), so a user knows why nothing happens yet.
 */
export const ServicesProgress = defineNotification(
  'services/progress',
  () => z.strictObject({ requestId: z.string(), project: z.string(), message: z.string() }),
);

/** Sent to every client after a project's containers were restarted, stopped or started. */
export const ServicesDidChange = defineNotification(
  'services/didChange',
  () => z.strictObject({ project: z.string(), action: z.enum(SERVICE_ACTIONS), services: z.array(z.string()) }),
);
