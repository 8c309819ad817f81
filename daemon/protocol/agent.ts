import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { projectName } from './fields.js';

/** Tool names as the agent front ends publish them: `zavhoz_` and a lowercase verb phrase. */
export const AGENT_TOOL_NAME_PATTERN = /^zavhoz_[a-z][a-z_]{1,63}$/;

/**
 * What agents may do, from least to most: `read-only` (status, lists, logs), `operate` (also restart services, run
 * commands with a project's secrets, ask the human for a secret), `deploy` (also allocate, deploy, roll back, push
 * CI secrets). Each tool declares the mode it needs; an agent sees and may call only the tools its mode allows.
 */
export const AGENT_MODES = ['read-only', 'operate', 'deploy'] as const;

/** One agent mode. */
export type AgentMode = (typeof AGENT_MODES)[number];

/** True when an agent in `mode` may use a tool that needs `needed`. */
export function modeAllows(mode: AgentMode, needed: AgentMode): boolean {
  return AGENT_MODES.indexOf(mode) >= AGENT_MODES.indexOf(needed);
}

/** The lower of two modes: a front end's own limit (`zavhoz mcp --read-only`) caps the setting. */
export function lowerMode(first: AgentMode, second: AgentMode): AgentMode {
  return modeAllows(first, second) ? second : first;
}

/** Whether an agent's tool call went ahead or was refused before it reached the daemon's other requests. */
export const AGENT_TOOL_OUTCOMES = ['called', 'refused'] as const;

/**
 * Records one agent tool call in the audit log, under the connection's client name (`agent`). The front ends send
 * it before the tool does anything, so a call is on record even if the front end dies half-way. `arguments` are
 * `name=value` lines of arguments that passed the secret guard; a refused call sends argument names only.
 */
export const AgentToolCalled = defineRequest(
  'agent/toolCalled',
  () => z.strictObject({
    tool: z.string().regex(AGENT_TOOL_NAME_PATTERN, 'a tool name like zavhoz_deploy'),
    outcome: z.enum(AGENT_TOOL_OUTCOMES),
    arguments: z.array(z.string().max(600)).max(600),
    /** Why a refused call was refused, in words. */
    reason: z.string().max(500).optional(),
  }),
  result<{ readonly recorded: true }>(),
);

/** What a grant lets agents do to a project without a human confirming each time (MCP clients cannot ask). */
export const AGENT_GRANT_ACTIONS = ['deploy', 'rollback', 'restart'] as const;

/** One grantable action. */
export type AgentGrantAction = (typeof AGENT_GRANT_ACTIONS)[number];

/** What an entry of the older `agentDeployProjects` setting grants: deploys and rollbacks, with no expiry. */
export const SETTING_GRANT_ACTIONS: readonly AgentGrantAction[] = ['deploy', 'rollback'];

/** Grant ids: `grt_` and 10 lowercase base32 characters; an `agentDeployProjects` entry shows as `setting:<project>`. */
export const AGENT_GRANT_ID_PATTERN = /^grt_[a-z2-7]{10}$/;

/** Longest grant: 90 days. A grant without end is the `agentDeployProjects` setting, on purpose a separate, visible step. */
export const AGENT_GRANT_TTL = { min: 1, max: 90 * 86_400 } as const;

/** A project name as agent grants and approved commands take it. */
const grantProject = projectName;

/** A grant as clients see it. */
export interface AgentGrant {
  readonly id: string;
  readonly project: string;
  readonly allow: readonly AgentGrantAction[];
  /** `grant` from `agent/grant`; `setting` for an entry of `agentDeployProjects` (no expiry). */
  readonly source: 'grant' | 'setting';
  readonly createdAt: string | null;
  /** Null: no expiry (a setting entry). */
  readonly expiresAt: string | null;
  readonly status: 'active' | 'expired' | 'revoked';
  /** The client that made the grant (`cli`, `vscode`); null for a setting entry. */
  readonly createdBy: string | null;
}

/**
 * Lets agents deploy, roll back or restart a project over MCP for a time, without a human confirming each call.
 * Audited.
 */
export const AgentGrantCreate = defineRequest(
  'agent/grant',
  () => z.strictObject({
    project: grantProject,
    allow: z.array(z.enum(AGENT_GRANT_ACTIONS)).min(1).max(AGENT_GRANT_ACTIONS.length),
    /** How long the grant lasts, in seconds. */
    ttlSeconds: z.number().int().min(AGENT_GRANT_TTL.min).max(AGENT_GRANT_TTL.max),
  }),
  result<AgentGrant>(),
);

/** Every grant: active ones, and with `all` the expired and revoked ones too; `agentDeployProjects` entries included. */
export const AgentGrantsList = defineRequest(
  'agent/grants',
  () => z.strictObject({ project: grantProject.optional(), all: z.boolean().default(false) }),
  result<{ readonly grants: readonly AgentGrant[] }>(),
);

/**
 * Ends grants at once: one by id, or every grant of a project (which also takes the project out of
 * `agentDeployProjects`, so nothing lets agents act on it any more). Audited.
 */
export const AgentGrantRevoke = defineRequest(
  'agent/revoke',
  () => z.union([z.strictObject({ id: z.string().regex(AGENT_GRANT_ID_PATTERN, 'a grant id like grt_7f3k9x2mab') }), z.strictObject({ project: grantProject })]),
  result<{ readonly revoked: readonly string[] }>(),
);

/** Whether an agent may do `action` to `project` now without a human confirming, and if not, whether a grant expired. */
export const AgentGrantCheck = defineRequest(
  'agent/checkGrant',
  () => z.strictObject({ project: grantProject, action: z.enum(AGENT_GRANT_ACTIONS) }),
  result<
    | { readonly allowed: true; readonly grant: string }
    | { readonly allowed: false; readonly expired: AgentGrant | null; readonly settingProjects: readonly string[] }
  >(),
);

/** The longest command line a human approves for agents, in arguments and characters. */
export const AGENT_COMMAND_LIMITS = { arguments: 64, argumentChars: 1000 } as const;

/** A command line as an argument array (no shell): the program and its arguments. */
export const agentCommandLine = lazySchema(() => z
  .array(z.string().min(1).max(AGENT_COMMAND_LIMITS.argumentChars).refine((part) => !part.includes('\0'), 'no NUL character'))
  .min(1)
  .max(AGENT_COMMAND_LIMITS.arguments));

/** A command line as a person types it in a POSIX shell: arguments other than plain words are single-quoted. */
export function commandLineText(command: readonly string[]): string {
  return command.map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Approved-command ids: `cmd_` and 10 lowercase base32 characters. */
export const AGENT_COMMAND_ID_PATTERN = /^cmd_[a-z2-7]{10}$/;

/** A command line a human approved for agents to run with a project's secrets. */
export interface ApprovedCommand {
  readonly id: string;
  readonly project: string;
  readonly command: readonly string[];
  readonly approvedAt: string;
  /** How the human approved it: `cli`, `vscode` (a modal), `mcp` (an elicitation the MCP client showed). */
  readonly approvedBy: string;
}

/**
 * Remembers that a human approved this exact command line for agents in this project (`zavhoz agent commands
 * approve`, a VS Code modal, an MCP elicitation). Approving one already approved changes nothing. Audited.
 */
export const AgentCommandApprove = defineRequest(
  'agent/commandsApprove',
  () => z.strictObject({
    project: grantProject,
    command: agentCommandLine,
    /** Where an agent front end asked the human (recorded with the approval); absent when the human approved it directly. */
    confirmedThrough: z.enum(['vscode-modal', 'mcp-elicitation']).optional(),
  }),
  result<ApprovedCommand>(),
);

/** Approved command lines, of one project or all. */
export const AgentCommandsList = defineRequest(
  'agent/commands',
  () => z.strictObject({ project: grantProject.optional() }),
  result<{ readonly commands: readonly ApprovedCommand[] }>(),
);

/** Forgets an approved command line: agents need a human's confirmation for it again. Audited. */
export const AgentCommandRevoke = defineRequest(
  'agent/commandsRevoke',
  () => z.strictObject({ id: z.string().regex(AGENT_COMMAND_ID_PATTERN, 'an approved command id like cmd_7f3k9x2mab') }),
  result<{ readonly revoked: string }>(),
);

/** How long an agent's command may run, in seconds. */
export const AGENT_EXEC_TIMEOUT = { default: 120, min: 1, max: 1800 } as const;

/** What an agent gets back of a command's output at most: its last lines, within this many characters. */
export const AGENT_EXEC_TAIL = { lines: 200, chars: 16_384 } as const;

/** What `agent/exec` answers: the exit, and the end of the output with every secret masked. */
export interface AgentExecResult {
  /** Null when the command did not exit by itself (a signal, a timeout, a program that could not start). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** The program could not be started (not found, not executable), in words. */
  readonly startError: string | null;
  /** The last lines of stdout and stderr together, masked (values, base64, URL-encoded). */
  readonly output: string;
  /** Lines of output left out before the tail. */
  readonly omittedLines: number;
  /** The names of the secrets the command had in its environment. */
  readonly secrets: readonly string[];
  readonly durationMs: number;
}

/**
 * Runs an approved command line (argument array, no shell) in `folder` with the project's vault secrets in its
 * environment, each under its own name, and answers its exit and the masked end of its output. A command line no
 * human approved for the project is refused (`PreconditionFailed`) and never runs. Audited with the handles used.
 */
export const AgentExec = defineRequest(
  'agent/exec',
  () => z.strictObject({
    project: grantProject,
    command: agentCommandLine,
    /** Absolute path of the folder the command runs in (the project's folder). */
    folder: z.string().min(1).max(4096).refine((folder) => folder.startsWith('/') || /^[A-Za-z]:[\\/]/.test(folder), 'an absolute path'),
    timeoutSeconds: z.number().int().min(AGENT_EXEC_TIMEOUT.min).max(AGENT_EXEC_TIMEOUT.max).default(AGENT_EXEC_TIMEOUT.default),
  }),
  result<AgentExecResult>(),
);
