import type { ApprovedCommands } from './commands.js';
import type { AgentCommandRunner } from './exec.js';
import type { AgentGrants } from './grants.js';

/** What agents may do without a human at hand: time-limited grants and approved command lines. */
export interface AgentAccess {
  readonly grants: AgentGrants;
  readonly commands: ApprovedCommands;
  /** Runs approved command lines with a project's secrets (`zavhoz_exec_with_secrets`). */
  readonly runner: AgentCommandRunner;
}
