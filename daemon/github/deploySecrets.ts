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
  deployTarget(project: string): Promise<DeployTarget>;
}

/** A project's scoped CI credential (daemon/cikey/): its deploy user, the vault handle of its key, the host key line. */
export interface CiCredential {
  readonly user: string;
  readonly keyHandle: string;
  readonly knownHosts: string | null;
}

/**
 * Where CI credentials come from (the CI key service, joined in wiring/): a deploy user on the project's server
 * whose key can only redeploy the project. Never the server's own key.
 */
export interface CiCredentialSource {
  /** Creates or re-installs the project's credential on its server (`rotate`: a new key beside the old). */
  ensure(
    project: string,
    where: { server: string; host: string; sshPort: number },
    caller: { client: string; requestId: string; signal?: AbortSignal | undefined },
    options: { rotate?: boolean },
  ): Promise<{ credential: CiCredential; rotated: boolean; retire(): Promise<void> }>;
  /** The credential recorded for the project, without contacting the server (drift checks). */
  current(project: string): Promise<Omit<CiCredential, 'knownHosts'> | undefined>;
}

/** The compose files a CI redeploy uses, as the deploy playbook does. */
export const DEPLOY_COMPOSE_FILES = 'infra/compose.base.yml infra/compose.prod.yml';


/** Where a project lives on its server. */
export function projectPath(project: string): string {
  return `/opt/services/${checkProject(project)}`;
}

/**
 * The secrets CI needs to redeploy a project on every push to main: the server's address and port, the project's
 * deploy user and its key (from the vault, by handle: the scoped CI key, never the server's own), the server's
 * pinned host key for known_hosts (when known), the project folder and the compose files.
 */
export function deploySecretSet(
  project: string,
  target: DeployTarget,
  credential: Pick<CiCredential, 'user' | 'keyHandle'> & { knownHosts?: string | null | undefined },
  composeFiles: string = DEPLOY_COMPOSE_FILES,
): PlannedSecret[] {
  return [
    { name: 'DEPLOY_HOST', source: { kind: 'computed', value: target.host } },
    { name: 'DEPLOY_USER', source: { kind: 'computed', value: credential.user } },
    { name: 'DEPLOY_SSH_KEY', source: { kind: 'vault', handle: credential.keyHandle } },
    { name: 'DEPLOY_PORT', source: { kind: 'computed', value: String(target.sshPort) } },
    { name: 'DEPLOY_PROJECT_PATH', source: { kind: 'computed', value: projectPath(project) } },
    { name: 'DEPLOY_COMPOSE_FILES', source: { kind: 'computed', value: composeFiles } },
    ...(typeof credential.knownHosts === 'string' ? [{ name: 'DEPLOY_KNOWN_HOSTS', source: { kind: 'computed', value: credential.knownHosts } } as const] : []),
  ];
}

/** The two questions the deploy target needs answered: where a project is allocated, and how to reach a server. */
export interface TargetLookups {
  allocations(project: string): Promise<readonly Allocation[]>;
  server(handle: string): Promise<ServerInfo>;
}

/** Resolves deploy targets from the allocation ledger and the inventory. */
export function inventoryTargets(lookups: TargetLookups): DeployTargetSource {
  return {
    async deployTarget(project: string): Promise<DeployTarget> {
      const server = (await lookups.allocations(project))[0]?.server;
      if (server === undefined) {
        throw notFound(`A server for project ${project}`, `Deploy it first (\`zavhoz deploy DIR --project ${project} …\`), which allocates one.`);
      }
      const info = await lookups.server(server);
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
