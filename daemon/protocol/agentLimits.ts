import { AgentGrantCreate } from './agent.js';
import { ExecResolve } from './exec.js';
import { RemoteHandoff } from './remote.js';
import { SecretsReveal } from './secrets.js';
import { SettingsSet } from './settings.js';
import { TeamJoin, TeamLeave } from './team.js';
import { VaultConnect, VaultDisconnect } from './vault.js';

/** The client name agent front ends (`zavhoz mcp`, the extension's language-model tools) connect with. */
export const AGENT_CLIENT_NAME = 'agent';

/**
 * Requests the daemon refuses on an agent's connection, whatever its tools would send: each one widens what agents
 * may do (a grant, a setting such as `agentMode`), hands out secret values, or moves the daemon to another store
(`team/join` also sends a vault password to the database it names). The tools never send them; this makes
 * the rule the daemon's own, not only the front end's. A person's client (CLI, extension) is not limited. (Approving
 * a run is refused to agents by the approvals service itself, with its own words.)
 */
export const REFUSED_FOR_AGENTS: ReadonlySet<string> = new Set(
  [AgentGrantCreate, SettingsSet, SecretsReveal, ExecResolve, VaultConnect, VaultDisconnect, TeamJoin, TeamLeave, RemoteHandoff].map((definition) => definition.method),
);
