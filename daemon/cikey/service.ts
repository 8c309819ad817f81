import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretMetadata } from '../protocol/secretFields.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import type { SecretDescription, VaultCaller } from '../vault/vault.js';
import { generateDeployKeyPair, publicLineOf } from './keyPair.js';
import { CI_DEPLOY_HELPER_SCRIPT, deployUserOf, INSTALL_SCRIPT, PRIVILEGE_SCRIPT, REMOVE_SCRIPT, remoteCommand } from './remote.js';

/** Name of the vault secret (scoped to the project) that holds a project's CI deploy key. */
export const CI_KEY_SECRET_NAME = 'CI_DEPLOY_KEY';

/** What the CI key service needs of the vault: find, store, replace and delete the key, and lend it. */
export interface CiKeyVault extends SecretReader {
  list(filter: { project?: string | undefined }): Promise<SecretMetadata[]>;
  set(input: SecretDescription & { type: 'private_key'; value: string }, caller: VaultCaller): Promise<SecretMetadata>;
  rotate(input: { handle: string; value: string }, caller: VaultCaller): Promise<SecretMetadata>;
  remove(handle: string, caller: VaultCaller): Promise<unknown>;
}

/** One command's outcome on a server. */
export interface RemoteResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** An SSH connection to a managed server, as Zavhoz itself logs in (inventory's `openSsh`). */
export interface ServerShell {
  /** The host key the server presented (raw SSH blob), when the connection knows it. */
  readonly hostKey?: Buffer | undefined;
  exec(command: string, options?: { stdin?: string; signal?: AbortSignal }): Promise<RemoteResult>;
  close(): void;
}

/** What the CI key service is built from. */
export interface CiKeyDependencies {
  readonly vault: CiKeyVault;
  readonly audit: AuditLog;
  readonly log: ScopedLogger;
  /** Days after which a new key rotates itself (read when a key is created); 0 or undefined: never. */
  readonly rotationDays?: () => number;
  openShell(server: string, use: SecretUse, signal?: AbortSignal): Promise<ServerShell>;
}

/** Where the key is installed: the server's handle and how CI reaches it. */
export interface CiKeyServer {
  readonly server: string;
  readonly host: string;
  readonly sshPort: number;
}

/** Who asks (audit log, vault loans); `signal` cancels the SSH work. */
export interface CiKeyCaller {
  readonly client: string;
  readonly requestId: string;
  readonly signal?: AbortSignal | undefined;
}

/** A project's CI credential: the deploy user, the vault handle of its key, the server's pinned host key line. */
export interface CiCredential {
  readonly user: string;
  readonly keyHandle: string;
  /** `host key` line for CI's known_hosts (`[host]:port ssh-ed25519 AAAA…`), when the server's key is known. */
  readonly knownHosts: string | null;
}

/** An installed credential; after a rotation, `retire` removes the old key from the server (call it once CI has the new one). */
export interface CiKeyInstall {
  readonly credential: CiCredential;
  readonly rotated: boolean;
  retire(): Promise<void>;
}

/**
 * Scoped CI deploy credentials: per project, a deploy user on its server whose only key (kept in the vault as
 * `CI_DEPLOY_KEY` of the project, type `private_key`) can do nothing but redeploy that project (see remote.ts).
 * This, not the server's own key, is what GitHub gets as DEPLOY_SSH_KEY. Installs are idempotent; a rotation
 * installs the new key beside the old, and the old one goes once CI has the new one. Audited.
 */
export class CiKeyService {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly dependencies: CiKeyDependencies) {}

  /** The project's current credential as recorded (no server contact), for drift checks; undefined if none yet. */
  async current(project: string): Promise<Omit<CiCredential, 'knownHosts'> | undefined> {
    const secret = await this.secretOf(project);
    return secret ? { user: deployUserOf(project), keyHandle: secret.handle } : undefined;
  }

  /**
   * Creates (first time), checks and re-installs the project's deploy user and key on the server; with `rotate`, a
   * new key is installed beside the old one and stored. Throws PreconditionFailed saying what to do when Zavhoz
   * cannot become root there (it never falls back to the server's own key).
   */
  ensure(project: string, where: CiKeyServer, caller: CiKeyCaller, options: { rotate?: boolean } = {}): Promise<CiKeyInstall> {
    return this.serially(project, () => this.install(project, where, caller, options.rotate === true));
  }

  /** Removes the project's deploy user from the server and its key from the vault (after an undeploy). */
  remove(project: string, server: string, caller: CiKeyCaller): Promise<{ user: string; removedUser: boolean; removedKey: boolean }> {
    return this.serially(project, async () => {
      const user = deployUserOf(project);
      const secret = await this.secretOf(project);
      const shell = await this.dependencies.openShell(server, this.use(caller, server, project, 'ci-key-remove'), caller.signal);
      let removedUser: boolean;
      try {
        const sudo = await this.privilege(shell, server, caller);
        removedUser = (await this.run(shell, server, 'Removing the CI deploy user', remoteCommand(REMOVE_SCRIPT, [project, user], sudo), caller)).includes('removed');
      } finally {
        shell.close();
      }
      if (secret) await this.dependencies.vault.remove(secret.handle, caller);
      await this.dependencies.audit.record({
        client: caller.client,
        requestId: caller.requestId,
        action: 'ci-key-remove',
        subject: `project:${project}`,
        detail: { server, user, removedUser, key: secret?.handle ?? '' },
      });
      return { user, removedUser, removedKey: secret !== undefined };
    });
  }

  private newKeyRotationDays(): number | undefined {
    const days = this.dependencies.rotationDays?.() ?? 0;
    return days > 0 ? days : undefined;
  }

  private async install(project: string, where: CiKeyServer, caller: CiKeyCaller, rotate: boolean): Promise<CiKeyInstall> {
    const { vault } = this.dependencies;
    const user = deployUserOf(project);
    const existing = await this.secretOf(project);
    const use = this.use(caller, where.server, project, 'ci-key-install');
    const oldLine = existing ? await vault.withValue(existing.handle, use, (value) => publicLineOf(value)) : undefined;
    const fresh = existing === undefined || rotate ? generateDeployKeyPair(`zavhoz-ci ${project}`) : undefined;
    const newLine = fresh ? publicLineOf(fresh.privateKey) : oldLine;
    const lines = [...new Set([oldLine, newLine].filter((line): line is string => line !== undefined))];

    const shell = await this.dependencies.openShell(where.server, use, caller.signal);
    let knownHosts: string | null;
    try {
      const sudo = await this.privilege(shell, where.server, caller);
      const said = await this.run(shell, where.server, 'Installing the CI deploy user', remoteCommand(INSTALL_SCRIPT, [project, user, ...lines], sudo), caller, CI_DEPLOY_HELPER_SCRIPT);
      if (said.includes('nosudo')) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Server ${where.server} has no sudo, which the CI deploy user of ${project} needs for its one redeploy command. Install it there (apt-get install sudo, as root), then push the secrets again. ` +
            'Zavhoz does not give CI the server\'s own key instead.',
        );
      }
      knownHosts = shell.hostKey ? knownHostsLine(where, shell.hostKey) : null;
    } finally {
      shell.close();
    }
    // Stored only once the server accepts it, so the vault never holds a key nothing knows.
    const secret = fresh
      ? existing
        ? await vault.rotate({ handle: existing.handle, value: fresh.privateKey }, caller)
        : await vault.set(
            { name: CI_KEY_SECRET_NAME, type: 'private_key', value: fresh.privateKey, category: 'server', project, tags: ['ci'], expiresAt: undefined, rotationDays: this.newKeyRotationDays() },
            caller,
          )
      : existing;
    if (!secret) throw new ZavhozError(ErrorCodes.InternalError, `The CI deploy key of ${project} went missing.`);
    await this.dependencies.audit.record({
      client: caller.client,
      requestId: caller.requestId,
      action: fresh ? (existing ? 'ci-key-rotate' : 'ci-key-create') : 'ci-key-install',
      subject: `project:${project}`,
      detail: { server: where.server, user, key: secret.handle },
    });
    this.dependencies.log.info('CI deploy key installed', { project, server: where.server, user, key: secret.handle, rotated: rotate && existing !== undefined });
    const stale = rotate && oldLine !== undefined && oldLine !== newLine;
    return {
      credential: { user, keyHandle: secret.handle, knownHosts },
      rotated: stale,
      retire: async () => {
        if (!stale || newLine === undefined) return;
        await this.serially(project, async () => {
          const again = await this.dependencies.openShell(where.server, use, caller.signal);
          try {
            const sudo = await this.privilege(again, where.server, caller);
            await this.run(again, where.server, 'Removing the old CI deploy key', remoteCommand(INSTALL_SCRIPT, [project, user, newLine], sudo), caller, CI_DEPLOY_HELPER_SCRIPT);
          } finally {
            again.close();
          }
          await this.dependencies.audit.record({
            client: caller.client,
            requestId: caller.requestId,
            action: 'ci-key-retire',
            subject: `project:${project}`,
            detail: { server: where.server, user, key: secret.handle },
          });
        });
      },
    };
  }

  /** True when the scripts must go through `sudo -n`; throws when Zavhoz is neither root nor a passwordless sudoer. */
  private async privilege(shell: ServerShell, server: string, caller: CiKeyCaller): Promise<boolean> {
    const said = (await this.run(shell, server, 'Checking for root', remoteCommand(PRIVILEGE_SCRIPT, []), caller)).trim();
    if (said === 'root') return false;
    if (said === 'sudo') return true;
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `Zavhoz logs in to ${server} as a user that is not root and cannot use sudo without a password, so it cannot create the CI deploy user. ` +
        `Log in as root (zavhoz server update ${server} --ssh-user root), or allow that user passwordless sudo. Zavhoz does not give CI the server's own key instead.`,
    );
  }

  private async run(shell: ServerShell, server: string, what: string, command: string, caller: CiKeyCaller, stdin?: string): Promise<string> {
    const result = await shell.exec(command, { ...(stdin === undefined ? {} : { stdin }), ...(caller.signal ? { signal: caller.signal } : {}) });
    if (result.code !== 0) {
      const said = result.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500);
      throw new ZavhozError(ErrorCodes.DeployFailed, `${what} on ${server} failed (exit ${String(result.code)})${said ? `: ${said}` : ''}.`);
    }
    return result.stdout;
  }

  private async secretOf(project: string): Promise<SecretMetadata | undefined> {
    return (await this.dependencies.vault.list({ project })).find((secret) => secret.name === CI_KEY_SECRET_NAME && secret.project === project);
  }

  private use(caller: CiKeyCaller, server: string, project: string, purpose: string): SecretUse {
    return { client: caller.client, requestId: caller.requestId, action: 'ssh', detail: { server, project, purpose } };
  }

  /** One key change per project at a time (two pushes at once must not make two keys). */
  private serially<T>(project: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(project) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(project, settled);
    void settled.then(() => {
      if (this.queues.get(project) === settled) this.queues.delete(project);
    });
    return next;
  }
}

/** The known_hosts line of a server's host key blob, as OpenSSH writes it for that host and port. */
export function knownHostsLine(where: Pick<CiKeyServer, 'host' | 'sshPort'>, hostKey: Buffer): string {
  const typeLength = hostKey.readUInt32BE(0);
  const type = hostKey.subarray(4, 4 + typeLength).toString('latin1');
  const host = where.sshPort === 22 ? where.host : `[${where.host}]:${where.sshPort}`;
  return `${host} ${type} ${hostKey.toString('base64')}`;
}
