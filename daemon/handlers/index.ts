import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { registerSecretsHandlers } from './secrets.js';
import { registerSettingsHandlers } from './settings.js';
import { registerServerHandlers } from './servers.js';
import { registerAllocationHandlers } from './allocations.js';
import { registerDeployHandlers } from './deploy.js';
import { registerReleaseHandlers } from './releases.js';
import { registerShellHandlers } from './shell.js';
import { registerRemoteHandlers } from './remote.js';
import { registerGithubHandlers } from './github.js';
import { registerAgentHandlers } from './agent.js';
import { registerServicesHandlers } from './services.js';
import { registerUndeployHandlers } from './undeploy.js';
import { registerRotationHandlers } from './rotation.js';
import { registerNotifyHandlers } from './notify.js';
import { registerDomainHandlers } from './domains.js';
import { registerExecHandlers } from './exec.js';
import { registerApprovalHandlers } from './approvals.js';
import { registerVaultHandlers } from './vault.js';
import { registerTeamHandlers } from './team.js';

/** Registers the handlers of every capability. Lifecycle handlers are registered by the daemon itself. */
export function registerHandlers(router: Router, services: Services): void {
  registerSettingsHandlers(router, services);
  registerSecretsHandlers(router, services);
  registerServerHandlers(router, services);
  registerAllocationHandlers(router, services);
  registerDeployHandlers(router, services);
  registerReleaseHandlers(router, services);
  registerShellHandlers(router, services);
  registerRemoteHandlers(router, services);
  registerGithubHandlers(router, services);
  registerAgentHandlers(router, services);
  registerServicesHandlers(router, services);
  registerUndeployHandlers(router, services);
  registerRotationHandlers(router, services);
  registerNotifyHandlers(router, services);
  registerDomainHandlers(router, services);
  registerExecHandlers(router, services);
  registerApprovalHandlers(router, services);
  registerVaultHandlers(router, services);
  registerTeamHandlers(router, services);
}
