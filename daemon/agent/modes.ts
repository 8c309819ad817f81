import { type AgentMode, lowerMode, modeAllows } from '../protocol/agent.js';
import { SettingsGet } from '../protocol/settings.js';
import type { AgentDaemon, AgentEnvironment, AgentTool } from './tool.js';

/**
 * Agent modes as the front ends apply them: the `agentMode` setting, capped by the front end's own limit
 * (`zavhoz mcp --read-only`), decides which tools an agent sees and may call.
 */

/** Where an agent's mode comes from, for the words of a refusal. */
export interface ModeSource {
  readonly mode: AgentMode;
  /** True when the front end's own limit, not the setting, is what holds the agent back. */
  readonly limited: boolean;
}

/** The mode an agent of this front end has now: the setting, capped by the front end's limit. */
export async function currentMode(environment: Pick<AgentEnvironment, 'modeLimit'> & { readonly daemon: AgentDaemon }): Promise<ModeSource> {
  const settings = await environment.daemon.request(SettingsGet, {});
  const limit = environment.modeLimit;
  if (limit === undefined) return { mode: settings.agentMode, limited: false };
  const mode = lowerMode(settings.agentMode, limit);
  return { mode, limited: mode !== settings.agentMode };
}

/** The tools an agent in `mode` sees, in catalogue order. */
export function toolsFor<T extends Pick<AgentTool, 'mode'>>(tools: readonly T[], mode: AgentMode): T[] {
  return tools.filter((tool) => modeAllows(mode, tool.mode));
}

/** Undefined when the mode allows the tool; else the refusal the model is told, naming what would allow it. */
export function modeRefusal(tool: Pick<AgentTool, 'name' | 'mode'>, source: ModeSource): string | undefined {
  if (modeAllows(source.mode, tool.mode)) return undefined;
  if (source.limited) {
    return (
      `Refused: ${tool.name} needs agent mode "${tool.mode}", and this MCP server was started with --read-only, which offers read tools only. ` +
      'Ask the human to run zavhoz mcp without --read-only if they want agents to do more.'
    );
  }
  return (
    `Refused: ${tool.name} needs agent mode "${tool.mode}"; agents here are in mode "${source.mode}" (setting agentMode). ` +
    `The human allows it with: zavhoz config set agentMode ${tool.mode}`
  );
}
