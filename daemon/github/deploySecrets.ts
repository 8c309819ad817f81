import { notFound, ZavhozError } from '../core/errors.js';
import type { Allocation } from '../protocol/allocations.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { ServerInfo } from '../protocol/servers.js';
import { checkProject } from './names.js';
import type { PlannedSecret } from './push.js';

/** Where a project is deployed: what CI needs to reach the server the way Zavhoz does. */
export interface DeployTarget {
  /** Inventory handle of the server. */
  readonly server: string;
  readonly host: string;
  readonly sshUser: string;
  readonly sshPort: number;
  /** Vault handle of the server's SSH private key. */
  readonly sshKeyHandle: string;
}

/** Finds a project's deploy target (the inventory + allocation ledger in the daemon; a stand-in in unit tests). */
export interface DeployTargetSource {
  deployTarget(project: string): DeployTarget;
}

/** The compose files a CI redeploy uses, as the deploy playbook does. */
export const DEPLOY_COMPOSE_FILES = 'infra/compose.base.yml infra/compose.prod.yml';


/** Where a project lives on its server. */
export function projectPath(project: string): string {
  return `/opt/services/${checkProject(project)}`;
}

/**
 * The secrets CI needs to redeploy a project on every push to main: the server's address, user, port and SSH key
 * (from the vault, by handle), the project folder and the compose files.
 */
export function deploySecretSet(project: string, target: DeployTarget, composeFiles: string = DEPLOY_COMPOSE_FILES): PlannedSecret[] {
  return [
    { name: 'DEPLOY_HOST', source: { kind: 'computed', value: target.host } },
    { name: 'DEPLOY_USER', source: { kind: 'computed', value: target.sshUser } },
    { name: 'DEPLOY_SSH_KEY', source: { kind: 'vault', handle: target.sshKeyHandle } },
    { name: 'DEPLOY_PORT', source: { kind: 'computed', value: String(target.sshPort) } },
    { name: 'DEPLOY_PROJECT_PATH', source: { kind: 'computed', value: projectPath(project) } },
    { name: 'DEPLOY_COMPOSE_FILES', source: { kind: 'computed', value: composeFiles } },
  ];
}

/** The two questions the deploy target needs answered: where a project is allocated, and how to reach a server. */
export interface TargetLookups {
  allocations(project: string): readonly Allocation[];
  server(handle: string): ServerInfo;
}

/** Resolves deploy targets from the allocation ledger and the inventory. */
export function inventoryTargets(lookups: TargetLookups): DeployTargetSource {
  return {
    deployTarget(project: string): DeployTarget {
      const server = lookups.allocations(project)[0]?.server;
      if (server === undefined) {
        throw notFound(`A server for project ${project}`, `Deploy it first (\`zavhoz deploy DIR --project ${project} …\`), which allocates one.`);
      }
      const info = lookups.server(server);
      if (info.sshKeySecret === null) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Server ${server} (where ${project} is deployed) has no SSH key in the vault, so CI could not reach it. Set one with \`zavhoz server update ${server} --ssh-key-secret HANDLE\`.`,
        );
      }
      return { server, host: info.host, sshUser: info.sshUser, sshPort: info.sshPort, sshKeyHandle: info.sshKeySecret };
    },
  };
}
