import fs from 'node:fs';
import path from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { PassphraseReader, SshConnection } from '../inventory/ssh.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { RemoteHandedOff } from '../protocol/remote.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import { type DaemonAgent, addToAgent, checkAgentSocket, removeFromAgent } from './agent.js';
import { addInclude, aliasOf, handedHost, handedServers, includes, isStale, knownHostsKey, removeHost, userConfigFile, writeHost, writeSessionHost } from './sshConfig.js';

/** What the hand-off needs from the inventory: where a server is, and SSH to it with its pinned host key. */
export interface HandoffHost {
  describe(handle: string): Promise<{ readonly host: string; readonly port: number; readonly user: string; readonly keySecret: string | null }>;
  openSsh(handle: string, use: SecretUse, options?: { readonly signal?: AbortSignal }): Promise<SshConnection>;
}

/** What {@link SshHandoff} is built from. */
export interface HandoffDependencies {
  readonly host: HandoffHost;
  readonly secrets: SecretReader & Partial<PassphraseReader>;
  readonly audit: AuditLog;
  readonly log: ScopedLogger;
  /** Zavhoz's SSH config folder (`<data>/ssh`). */
  readonly folder: string;
  /** Where the askpass helper of a key with a passphrase lives for the moment of an `ssh-add`. */
  readonly scratch: string;
  /** Zavhoz's own agent, for clients without one. */
  readonly agent: DaemonAgent;
  /** The user's SSH config (default `~/.ssh/config`). */
  readonly userConfig?: string;
  readonly clock?: () => Date;
}

/** One hand-off: which server, to which agent, for how long, and whether `~/.ssh/config` may get the Include. */
export interface HandoffRequest {
  readonly server: string;
  readonly agentSocket?: string | undefined;
  readonly lifetimeSeconds: number;
  readonly includeInUserConfig: boolean;
  /** The SSH config that gets the Include line (Remote-SSH's `remote.SSH.configFile`); default `~/.ssh/config`. */
  readonly userConfigFile?: string | undefined;
  /** A session's own private folder: the Host block goes there, and Zavhoz's SSH config keeps the alias it had. */
  readonly sessionFolder?: string | undefined;
}

/**
 * Hands a managed server to the user's own SSH client: the vault key into an ssh-agent with a lifetime, the host
 * alias with the pinned host key into Zavhoz's SSH config. The key leaves the daemon only through ssh-add's stdin.
 */
export class SshHandoff {
  /** Work under way per server: its hand-offs and prunes take turns, so a ghosting never loses to a hand-off's write. */
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(private readonly dependencies: HandoffDependencies) {}

  /** Checks the server's host key against its pin, loads its key into the agent and writes its alias. */
  handoff(request: HandoffRequest, use: SecretUse, signal?: AbortSignal): Promise<RemoteHandedOff> {
    return this.inTurn(request.server, () => this.handOver(request, use, signal));
  }

  private async handOver(request: HandoffRequest, use: SecretUse, signal?: AbortSignal): Promise<RemoteHandedOff> {
    const { host, secrets, audit, log, folder, scratch, agent } = this.dependencies;
    const where = await host.describe(request.server);
    const keySecret = where.keySecret;
    if (!keySecret) throw new ZavhozError(ErrorCodes.PreconditionFailed, `Server ${request.server} has no SSH key to hand off. Set one with \`zavhoz server update ${request.server} --ssh-key-secret NAME\`.`);
    if (request.agentSocket !== undefined) checkAgentSocket(request.agentSocket);
    if (request.sessionFolder !== undefined) {
      if (request.includeInUserConfig) throw new ZavhozError(ErrorCodes.InvalidInput, "A session's Host block lives in its own folder and ends with it: ask for the Include line without a session folder.");
      checkSessionFolder(request.sessionFolder);
    }
    // The same check a shell makes: a pinned host key that matches, and a key the server takes.
    const connection = await host.openSsh(request.server, use, signal ? { signal } : {});
    const presented = connection.hostKey;
    connection.close();
    if (!presented) throw new ZavhozError(ErrorCodes.Unreachable, `Server ${request.server} presented no host key Zavhoz could record; run \`zavhoz server check ${request.server}\`.`);
    const socket = request.agentSocket ?? (await agent.ensure());
    const redact = (text: string): string => secrets.redactor?.redact(text) ?? text;
    const publicKey = await secrets.withValue(keySecret, use, async (privateKey) => {
      let parsed = ssh2.utils.parseKey(privateKey);
      let passphrase: string | undefined;
      if (parsed instanceof Error && /passphrase/i.test(parsed.message) && secrets.withPassphrase) {
        passphrase = await secrets.withPassphrase(keySecret, use, (value) => value);
        if (passphrase !== undefined) parsed = ssh2.utils.parseKey(privateKey, passphrase);
      }
      // parseKey answers a list for a file of several keys, whatever its declared type says.
      const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
      if (!key || key instanceof Error) {
        throw new ZavhozError(ErrorCodes.InvalidInput, `The secret ${keySecret} is not an SSH private key Zavhoz can hand to an agent${passphrase === undefined ? ' (or its passphrase is not stored with it)' : ''}.`);
      }
      await addToAgent({ socket, lifetimeSeconds: request.lifetimeSeconds, privateKey, passphrase, scratch, redact }, signal);
      return `${key.type} ${key.getPublicSSH().toString('base64')} zavhoz:${request.server}`;
    });
    const entry = { server: request.server, host: where.host, port: where.port, user: where.user, keySecret, agentSocket: socket, publicKey, hostKey: knownHostsKey(presented) };
    // A session's agent ends with it: its block stays out of Zavhoz's config, whose alias keeps naming a living agent.
    const written =
      request.sessionFolder === undefined ? writeHost(folder, entry) : { hostConfig: writeSessionHost(request.sessionFolder, entry), configFile: path.join(folder, 'config') };
    const userConfig = request.userConfigFile ?? this.dependencies.userConfig ?? userConfigFile();
    if (request.includeInUserConfig) addInclude(userConfig, written.configFile);
    const expiresAt = new Date((this.dependencies.clock?.() ?? new Date()).getTime() + request.lifetimeSeconds * 1000).toISOString();
    const alias = aliasOf(request.server);
    await audit.record({
      client: use.client,
      requestId: use.requestId,
      action: 'ssh-handoff',
      subject: request.server,
      detail: { alias, lifetimeSeconds: request.lifetimeSeconds, agent: request.agentSocket === undefined ? 'zavhoz' : 'client', ...(request.sessionFolder === undefined ? {} : { session: true }) },
    });
    log.info('server handed off', { server: request.server, alias, lifetimeSeconds: request.lifetimeSeconds });
    return {
      server: request.server,
      alias,
      host: where.host,
      port: where.port,
      user: where.user,
      hostConfig: written.hostConfig,
      configFile: written.configFile,
      includedInUserConfig: includes(userConfig, written.configFile),
      userConfigFile: userConfig,
      agentSocket: socket,
      expiresAt,
    };
  }

  /**
   * Forgets a server's hand-off (it was removed, or became a ghost): its key leaves the agent that holds it, and its
   * Host block, pinned host key and public key leave Zavhoz's SSH config. Answers false when it was never handed off.
   */
  forget(server: string, why: 'removed' | 'ghost' = 'removed'): Promise<boolean> {
    return this.inTurn(server, () => this.drop(server, why));
  }

  /**
   * Forgets the hand-offs of servers that may no longer have one: gone from the inventory (removed by a team member,
   * or while this daemon was not told), ghosts, and managed servers whose address, port, user or key changed since
   * (`server update`): their alias would lead to the old address, and the old key would stay in the agent until its
   * lifetime ends; the next hand-off writes them anew. `servers` names the ones that changed; empty means every
   * handed-off server. `standing` says where a server stands now. Answers the servers forgotten.
   */
  async prune(standing: (server: string) => Promise<ServerStanding>, servers: readonly string[] = []): Promise<string[]> {
    const candidates = servers.length > 0 ? [...new Set(servers)] : [...new Set([...handedServers(this.dependencies.folder), ...this.turns.keys()])];
    const forgotten: string[] = [];
    await Promise.all(
      candidates.map((server) =>
        this.inTurn(server, async () => {
          const handed = handedHost(this.dependencies.folder, server);
          if (!handed) return;
          const now = await standing(server);
          if (now === 'managed') {
            // A server that cannot be described now (its row changing under us) keeps its alias until the next notice.
            const current = await this.dependencies.host.describe(server).catch(() => undefined);
            if (current === undefined || !isStale(handed, current)) return;
          }
          if (await this.drop(server, now === 'managed' ? 'changed' : now)) forgotten.push(server);
        }),
      ),
    );
    return forgotten.sort();
  }

  private async drop(server: string, why: 'removed' | 'ghost' | 'changed'): Promise<boolean> {
    const { folder, log } = this.dependencies;
    const handed = handedHost(folder, server);
    if (!handed) return false;
    const unloaded = handed.agentSocket === undefined ? false : await removeFromAgent(handed.agentSocket, handed.publicKeyFile);
    removeHost(folder, server);
    log.info(FORGOTTEN_BECAUSE[why], { server, alias: aliasOf(server), unloadedFromAgent: unloaded });
    return true;
  }

  /** Runs `work` once whatever runs for `server` now has ended; the next one waits for it, failed or not. */
  private inTurn<T>(server: string, work: () => Promise<T>): Promise<T> {
    const before = this.turns.get(server) ?? Promise.resolve();
    const mine = before.then(work);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(server, settled);
    void settled.then(() => {
      if (this.turns.get(server) === settled) this.turns.delete(server);
    });
    return mine;
  }
}

/** What the daemon log says when a hand-off is forgotten, by why. */
const FORGOTTEN_BECAUSE = {
  removed: 'hand-off of a removed server forgotten',
  ghost: 'hand-off of a server that became a ghost forgotten',
  changed: "hand-off of a server whose address, user or key changed forgotten; the next hand-off writes it anew",
} as const;

/** Where a server stands for its hand-off: one automation may use, a ghost, or gone from the inventory. */
export type ServerStanding = 'managed' | 'ghost' | 'removed';

/**
 * Checks that a session folder is a folder of this user that no one else may enter (not a link), so the daemon never
 * writes where someone else could swap a file.
 */
export function checkSessionFolder(folder: string): void {
  const refuse = (why: string): never => {
    throw new ZavhozError(ErrorCodes.InvalidInput, `The session folder ${folder} ${why}. Leave it out to write the alias to Zavhoz's SSH config.`);
  };
  if (!path.isAbsolute(folder)) refuse('is not an absolute path');
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(folder);
  } catch {
    return refuse('does not exist');
  }
  if (!stat.isDirectory()) refuse('is not a folder');
  if (process.platform === 'win32') return;
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) refuse('belongs to another user');
  if ((stat.mode & 0o077) !== 0) refuse('may be entered by other users (make it private: chmod 700)');
}

/** Zavhoz's SSH config folder and own agent socket inside a data folder. */
export function handoffPaths(dataFolder: string): { folder: string; agentSocket: string; scratch: string } {
  const folder = path.join(dataFolder, 'ssh');
  return { folder, agentSocket: path.join(folder, 'agent.sock'), scratch: path.join(dataFolder, 'runs') };
}
