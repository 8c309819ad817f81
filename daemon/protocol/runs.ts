import * as z from 'zod';
import { approvalId, type ApprovalStatus, confirmedByPerson } from './approvals.js';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { deployProject, envBindings, type EnvPlan } from './env.js';
import { LIST_PAGE, moduleName, type PageInfo, pageFields, repository } from './fields.js';
import { secretHandle } from './secrets.js';

/**
 * Where a deploy run stands. `interrupted`: the daemon stopped or crashed while it ran. `awaiting_approval`: a run of a
 * protected project that waits for a person (its id is the approval's, `apr_…`; once approved it becomes a `run_…`).
 */
export const RUN_STATUSES = ['awaiting_approval', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
/** One of {@link RUN_STATUSES}. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * What a run does: deploy a project folder's ref, or redeploy a recorded release (`zavhoz rollback`). `undeploy`
 * appears only on a run that waits for approval (an undeploy has no run of its own once it starts).
 */
export const RUN_KINDS = ['deploy', 'rollback', 'undeploy'] as const;
/** One of {@link RUN_KINDS}. */
export type RunKind = (typeof RUN_KINDS)[number];

/** The phases of a deploy, in order. */
export const RUN_STEPS = ['allocate', 'plan', 'secrets', 'preflight', 'playbook', 'health'] as const;
/** One of {@link RUN_STEPS}. */
export type RunStepName = (typeof RUN_STEPS)[number];

/** What starts the log line the daemon writes when a step of a run starts: `[zavhoz] step: playbook`. */
export const RUN_LOG_STEP_PREFIX = '[zavhoz] step: ';

/** The step a run log line starts (one the daemon wrote with {@link RUN_LOG_STEP_PREFIX}), else undefined. */
export function runLogStep(line: string): RunStepName | undefined {
  if (!line.startsWith(RUN_LOG_STEP_PREFIX)) return undefined;
  const name = line.slice(RUN_LOG_STEP_PREFIX.length).trim();
  return (RUN_STEPS as readonly string[]).includes(name) ? (name as RunStepName) : undefined;
}

/** One phase of a run and how it went. */
export interface RunStep {
  readonly name: RunStepName;
  readonly status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** e.g. the Ansible task running now, or why the step failed. */
  readonly detail?: string;
}

/** Where the run deploys to: the allocation it used. Names and numbers only. */
export interface RunAllocation {
  readonly server: string;
  readonly host: string;
  readonly port: number;
  readonly modulePorts: Readonly<Record<string, number>>;
  /**
   * Module → `https://DOMAIN` for each module with a domain routed by the proxy: the URL to open instead of the direct
   * port. Filled in by `runs/get` and `runs/list` from the domains as they are now (not stored with the run).
   */
  readonly domainUrls?: Readonly<Record<string, string>>;
}

/** A deploy run as lists show it. */
export interface RunSummary {
  readonly id: string;
  readonly project: string;
  /** `deploy`, or `rollback` for a run that redeploys a release (runs from before releases are `deploy`). */
  readonly kind: RunKind;
  readonly status: RunStatus;
  /** `OWNER/NAME`. */
  readonly repository: string;
  readonly ref: string;
  /** When the run was asked for. */
  readonly createdAt: string;
  /** When it began its work, after any wait for its project (null while queued, and for a run that never began). */
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** ansible-playbook's exit code, when it ran. */
  readonly exitCode: number | null;
  /** What went wrong and what to do, for failed, cancelled and interrupted runs. */
  readonly error: string | null;
  readonly allocation: RunAllocation | null;
  /** Who started it. */
  readonly client: string;
  readonly requestId: string;
  /** The release this run recorded when it succeeded (`releases/get`); null otherwise. */
  readonly releaseId: string | null;
  /** A rollback run: the release it redeploys. */
  readonly rollbackTo: string | null;
  /** A run of a protected project that waited for (or still waits for) a person's approval. */
  readonly approval?: RunApproval;
  /**
   * A `queued` run that waits for another team member's work on its project, in words ("waiting for alice@host's
   * deploy of shop (run_…, since …)"); absent once it runs.
   */
  readonly waitingFor?: string;
}

/** The approval a run of a protected project waits for or went through: who asked (`client`) and who decided. */
export interface RunApproval {
  readonly id: string;
  readonly status: ApprovalStatus;
  readonly expiresAt: string;
  /** What will run, for people: the ref and repository, the release, keep-data. */
  readonly summary: string;
  /** Vault handles the request names (never values). */
  readonly handles: readonly string[];
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
}

/** A run with its steps and env plan (names, kinds and handles: never values). */
export interface RunDetail extends RunSummary {
  readonly steps: readonly RunStep[];
  readonly plan: EnvPlan | null;
  /** The run's private folder: run.log, the playbook used and an inventory without secrets. */
  readonly folder: string;
  readonly timeoutSeconds: number;
  /** Times the playbook was started (more than 1 when the host was unreachable and retried). */
  readonly attempts: number;
}

/** Run ids: `run_` and 10 lowercase base32 characters. */
export const runId = lazySchema(() => z.string().regex(/^run_[a-z2-7]{10}$/, 'a run id like run_7f3k9x2mab'));

/** Default and bounds of a run's timeout, in seconds. */
export const RUN_TIMEOUT = { default: 30 * 60, min: 1, max: 6 * 60 * 60 } as const;

/** The branch deployed when a request names no ref. */
export const DEFAULT_REF = 'main';

/** The container registry a server logs in to when a request names none. */
export const DEFAULT_REGISTRY = 'ghcr.io';

/** An HTTP path a health check requests, like `/health` or `/healthz?full=1`. */
export const healthPath = lazySchema(() => z.string().max(512).regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/, 'an HTTP path starting with "/", like /health'));

const gitRef = lazySchema(() => z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'a branch, tag or commit like main or v1.2.0')
  .refine((ref) => !ref.includes('..'), 'a ref without ".."'));
/** Where the server clones from: an https or ssh URL, or an absolute path on the server (tests, mirrors). */
const repoUrl = lazySchema(() => z
  .string()
  .max(2048)
  .regex(/^(https:\/\/[^\s@]+|ssh:\/\/[^\s]+|git@[^\s]+|file:\/\/\/[^\s]+|\/[^\s]+)$/, 'an https://, ssh://, git@… or file:/// URL, or an absolute path'));

/** Starts a deploy of a project folder; answers at once with the run (queued if the project already deploys). */
export const DeployStart = defineRequest(
  'deploy/start',
  () => z.strictObject({
    /** Absolute path of the project folder on this machine (its env templates and compose files are read). */
    folder: z.string().min(1).max(4096),
    project: deployProject,
    repository,
    ref: gitRef.default(DEFAULT_REF),
    bindings: envBindings.default({}),
    /** Clone from here instead of https://github.com/OWNER/NAME.git (no credentials in it: use gitToken). */
    repoUrl: repoUrl.optional(),
    /** Vault handle of a token git uses for an https clone. */
    gitToken: secretHandle.optional(),
    /** Vault handle of a registry token; when set, the server logs in to the registry before pulling. */
    registryToken: secretHandle.optional(),
    registry: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'a registry host like ghcr.io').default(DEFAULT_REGISTRY),
    registryUser: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a registry user name').optional(),
    timeoutSeconds: z.number().int().min(RUN_TIMEOUT.min).max(RUN_TIMEOUT.max).default(RUN_TIMEOUT.default),
    /**
     * The HTTP path each module with a port is health-checked at after `up`, by module (`app` is the main one);
     * default `/`. A module with a path given here must answer 2xx or 3xx; at `/`, anything below 500 passes.
     */
    healthPaths: z.record(moduleName, healthPath).default({}),
    /**
     * Keep a release that fails its health check running (for debugging) instead of rolling back to the previous
     * release.
     */
    noRollback: z.boolean().default(false),
    /**
     * Keep the request open until the run ends and answer with its final state. Cancelling the request cancels
     * the run (answer -32800).
     */
    wait: z.boolean().default(false),
    /** A person confirmed this deploy now; without it, a protected project's deploy waits for approval. */
    confirmed: confirmedByPerson,
  }),
  result<RunDetail>(),
);

/**
 * Lists runs, newest first, a page at a time (`limit` rows, then `cursor` for older ones). The first page starts with
 * the runs that wait for approval (status `awaiting_approval`, id `apr_…`), beyond `limit`.
 */
export const RunsList = defineRequest(
  'runs/list',
  () => z.strictObject({
    project: deployProject.optional(),
    limit: z.number().int().min(1).max(LIST_PAGE.max).default(50),
    cursor: pageFields.cursor,
  }),
  result<{ readonly runs: readonly RunSummary[] } & PageInfo>(),
);

/**
 * One run with its steps and env plan. An approval id (`apr_…`) answers the run it started once approved, else the
 * waiting (or rejected, expired) request as a run without steps.
 */
export const RunsGet = defineRequest('runs/get', () => z.strictObject({ id: z.union([runId, approvalId]) }), result<RunDetail>());

/** How many log lines one `runs/log` answer holds at most (it is also cut at 512 KiB). */
export const RUN_LOG_PAGE = { default: 2000, max: 10_000 } as const;

/**
 * A page of the run's log lines (redacted) from line `from`: at most `limit` lines and 512 KiB, so a log of any
 * length never makes an answer clients refuse. `more` says lines up to `total` did not fit: ask again from `next`.
 * With `follow`, the page that reaches the end also makes this connection get every later line as `runs/log`
 * notifications until the run ends (a page with `more` registers nothing, so pages and notifications never overlap).
 */
export const RunsLog = defineRequest(
  'runs/log',
  () => z.strictObject({
    id: runId,
    from: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(RUN_LOG_PAGE.max).default(RUN_LOG_PAGE.default),
    follow: z.boolean().default(false),
  }),
  result<{ readonly lines: readonly string[]; readonly next: number; readonly total: number; readonly more: boolean; readonly status: RunStatus }>(),
);

/** Cancels a queued or running run: the playbook's process group is killed. */
export const RunsCancel = defineRequest('runs/cancel', () => z.strictObject({ id: runId }), result<RunSummary>());

/** Sent to every client when a run is created or changes status or step. */
export const RunsDidChange = defineNotification(
  'runs/didChange',
  () => z.strictObject({ id: z.string(), project: z.string(), status: z.enum(RUN_STATUSES) }),
);

/** New log lines of a run (redacted), sent to the connections that asked with `runs/log` `follow`. */
export const RunsLogLines = defineNotification(
  'runs/log',
  () => z.strictObject({ id: z.string(), from: z.number().int(), lines: z.array(z.string()), done: z.boolean() }),
);
