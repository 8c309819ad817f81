import { type AgentGrantAction, AgentGrantCheck, SETTING_GRANT_ACTIONS } from '../../protocol/agent.js';
import { type ToolCall, ToolRefusal } from '../tool.js';

/** How long a grant the refusal suggests lasts. */
const SUGGESTED_TTL = '2h';

/**
 * Refuses an MCP call that needs a grant the project does not have: an MCP client may run with nobody watching, so
 * the human allows deploys, rollbacks and restarts per project beforehand (`zavhoz agent grant`, or the `agentDeployProjects`
 * setting without expiry). In VS Code the human confirms each call instead. An expired grant is refused with the
 * exact command that renews it.
 */
export async function requireGrant(call: ToolCall, project: string, action: AgentGrantAction, what: string, instead: string): Promise<void> {
  if (call.environment.frontEnd !== 'mcp') return;
  const verdict = await call.request(AgentGrantCheck, { project, action });
  if (verdict.allowed) return;
  if (verdict.expired) {
    throw new ToolRefusal(
      `Refused: the agent grant ${verdict.expired.id} for ${project} (${verdict.expired.allow.join(', ')}) expired at ${verdict.expired.expiresAt ?? '?'}. ` +
        `The human renews it with: zavhoz agent grant --project ${project} --allow ${verdict.expired.allow.join(',')} --ttl ${SUGGESTED_TTL}. ` +
        `Until then, ${instead}.`,
    );
  }
  // The setting stands for deploy and rollback only, so it is offered only for those.
  const withoutExpiry = SETTING_GRANT_ACTIONS.includes(action)
    ? `, or without expiry: zavhoz config set agentDeployProjects '${JSON.stringify([...verdict.settingProjects, project])}'`
    : '';
  throw new ToolRefusal(
    `Refused: ${what} of ${project} are not allowed. An MCP client cannot ask the human to confirm, so the human allows it per project, ` +
      `for a time: zavhoz agent grant --project ${project} --allow ${action} --ttl ${SUGGESTED_TTL}${withoutExpiry}. Until then, ${instead}.`,
  );
}
