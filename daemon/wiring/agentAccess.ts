import type { AuditLog } from '../audit/auditLog.js';
import type { AgentAccess } from '../agentaccess/access.js';
import { ApprovedCommands } from '../agentaccess/commands.js';
import { AgentGrants } from '../agentaccess/grants.js';
import type { SettingsService } from '../settings/settings.js';
import type { Foundation } from './services.js';

/** Builds the agent grants and approved commands over the store. */
export function wireAgentAccess(foundation: Foundation, dependencies: { readonly settings: SettingsService; readonly audit: AuditLog }): AgentAccess {
  return {
    grants: new AgentGrants(foundation.store, dependencies.settings, dependencies.audit),
    commands: new ApprovedCommands(foundation.store, dependencies.audit),
  };
}
