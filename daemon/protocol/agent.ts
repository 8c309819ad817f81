import { z } from 'zod';
import { defineRequest, result } from './define.js';

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
  z.strictObject({
    tool: z.string().regex(AGENT_TOOL_NAME_PATTERN, 'a tool name like zavhoz_deploy'),
    outcome: z.enum(AGENT_TOOL_OUTCOMES),
    arguments: z.array(z.string().max(600)).max(600),
    /** Why a refused call was refused, in words. */
    reason: z.string().max(500).optional(),
  }),
  result<{ readonly recorded: true }>(),
);
