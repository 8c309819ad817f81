import type { AuditLog } from '../audit/auditLog.js';
import type { AgentAccess } from '../agentaccess/access.js';
import { ApprovedCommands } from '../agentaccess/commands.js';
import { AgentCommandRunner } from '../agentaccess/exec.js';
import { AgentGrants } from '../agentaccess/grants.js';
import type { SettingsService } from '../settings/settings.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** Builds the agent grants, approved commands and the runner of those commands. */
export function wireAgentAccess(
  foundation: Foundation,
  dependencies: { readonly settings: SettingsService; readonly audit: AuditLog; readonly vault: Vault },
): AgentAccess {
  const commands = new ApprovedCommands(foundation.store, dependencies.audit, foundation.redactor);
  const runner = new AgentCommandRunner(dependencies.vault, commands, dependencies.audit, foundation.redactor);
  foundation.lifecycle.onShutdown(() => runner.stop());
  return { grants: new AgentGrants(foundation.store, dependencies.settings, dependencies.audit), commands, runner };
}
