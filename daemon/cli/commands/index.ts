import type { Command } from '../command.js';
import { configCommands } from './config.js';
import { daemonCommands } from './daemon.js';
import { auditCommands } from './audit.js';
import { secretCommands } from './secret.js';
import { serverCommands } from './server.js';
import { allocationCommands } from './allocation.js';
import { deployCommands } from './deploy.js';
import { releaseCommands } from './release.js';
import { githubCommands } from './github.js';
import { mcpCommands } from './mcp.js';
import { agentCommands } from './agent.js';
import { serviceCommands } from './service.js';
import { undeployCommands } from './undeploy.js';
import { rotationCommands } from './rotation.js';
import { notifyCommands } from './notify.js';
import { domainCommands } from './domain.js';
import { execCommands } from './exec.js';
import { approvalCommands } from './approvals.js';
import { vaultCommands } from './vault.js';
import { teamCommands } from './team.js';

/** Every CLI command. Each capability adds its area's list here. */
export const COMMANDS: readonly Command[] = [...daemonCommands, ...configCommands, ...secretCommands, ...vaultCommands, ...teamCommands, ...rotationCommands, ...execCommands, ...auditCommands, ...serverCommands, ...allocationCommands, ...deployCommands, ...approvalCommands, ...releaseCommands, ...serviceCommands, ...undeployCommands, ...domainCommands, ...githubCommands, ...notifyCommands, ...mcpCommands, ...agentCommands];
