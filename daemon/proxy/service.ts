import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretUse } from '../vault/api.js';
import { type ProxyModel, caddyConfig } from './config.js';
import { type ProxyAction, type ProxyProbe, applyCommand, checkCommand, parseOutcome, proxyFolder, removeCommand, removeSlotsCommand } from './remote.js';
import type { ProxySeen } from './status.js';

/** An open SSH connection to a server, as the proxy uses it. */
export interface ProxyShell {
  exec(command: string, options?: { stdin?: string; signal?: AbortSignal }): Promise<{ stdout: string; stderr: string; code: number | null }>;
  close(): void;
}

/** What the proxy service is built from. */
export interface ProxyDependencies {
  /** SSH to a managed server with its vault key and pinned host key. */
  openShell(server: string, use: SecretUse, signal?: AbortSignal): Promise<ProxyShell>;
  /** The image to run (setting `proxyImage`). */
  image(): string;
  /** Told what each apply or check found of the proxy (running with its version, or why it failed). */
  seen?(server: string, seen: ProxySeen): void;
  /** Told what each apply or check that succeeded did to the proxy container. */
  acted?(outcome: ProxyOutcome, mode: 'apply' | 'check'): void;
}

/** What one apply or check did to a server's proxy. */
export interface ProxyOutcome {
  readonly server: string;
  readonly container: string;
  /** `running`: a check found it up and did nothing. */
  readonly action: ProxyAction | 'running';
  /** The proxy's version as it reported it (`v2.6.2`). */
  readonly version: string | null;
  /** What a check's request through the proxy found (a check with a host to ask for only). */
  readonly probe?: ProxyProbe;
}

/** The proxy container's name on a server; the handle in it keeps two servers' proxies apart on one test engine. */
export function proxyContainer(server: string): string {
  return `zavhoz-proxy-${server}`;
}

/**
 * One Caddy reverse proxy per server, run as a container with host networking and configured through a config file
 * Zavhoz owns, reloaded gracefully through Caddy's admin API on a unix socket (`caddy reload` inside the container).
 * A file rather than only `/load` over the API: a proxy that restarts (a reboot, a kill) comes back with the last
 * config by itself, before Zavhoz is there to push one. Work on one server's proxy is serialized.
 */
export class ProxyService {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly dependencies: ProxyDependencies) {}

  /**
   * Installs the proxy on first use, writes the model as its config and reloads it (or starts it with it). `model` is
   * called when this server's turn comes, not before, and `undo` (a failed change's rollback in the store) runs before
   * the next apply's turn: an apply queued behind another builds its config from what the store says then, so it
   * never puts back a route that the one before it rolled back.
   */
  apply(server: string, model: () => ProxyModel | Promise<ProxyModel>, use: SecretUse, signal?: AbortSignal, undo?: () => void | Promise<void>): Promise<ProxyOutcome> {
    return this.serialize(server, async () => {
      try {
        const config = `${JSON.stringify(caddyConfig(await model()), null, 2)}\n`;
        return await this.run(server, applyCommand(proxyContainer(server), this.dependencies.image()), use, signal, 'apply', config);
      } catch (error) {
        await undo?.();
        throw error;
      }
    });
  }

  /**
   * Brings a stopped, killed or removed proxy back with the config it had (`running` when it was up), then sends one
   * request through it for `probe.host`, a host it routes: a proxy that runs but gives no HTTP answer is unhealthy.
   */
  check(server: string, use: SecretUse, signal?: AbortSignal, probe?: { readonly host: string; readonly port: number }): Promise<ProxyOutcome> {
    return this.serialize(server, () => this.run(server, checkCommand(proxyContainer(server), this.dependencies.image(), probe), use, signal, 'check', undefined, probe));
  }

  /** Removes the proxy container of a server (nothing routes through it any more). */
  async remove(server: string, use: SecretUse, signal?: AbortSignal): Promise<void> {
    await this.serialize(server, async () => {
      const shell = await this.dependencies.openShell(server, use, signal);
      try {
        await shell.exec(removeCommand(proxyContainer(server)), signal ? { signal } : {});
      } finally {
        shell.close();
      }
    });
  }

  /**
   * Removes switchover containers of the named modules that a deploy left running on a server (it stopped between
   * starting one and stopping it); returns the names it removed. In the server's queue, after any apply before it.
   */
  removeSlots(server: string, containers: readonly string[], use: SecretUse, signal?: AbortSignal): Promise<string[]> {
    if (containers.length === 0) return Promise.resolve([]);
    return this.serialize(server, async () => {
      const shell = await this.dependencies.openShell(server, use, signal);
      try {
        const result = await shell.exec(removeSlotsCommand(containers), signal ? { signal } : {});
        if (result.code !== 0) {
          throw new ZavhozError(ErrorCodes.Unreachable, `${server} could not remove ${containers.join(', ')}: ${result.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300) || `exit ${String(result.code)}`}`);
        }
        return result.stdout.split('\n').flatMap((line) => (line.startsWith('removed ') ? [line.slice('removed '.length).trim()] : []));
      } finally {
        shell.close();
      }
    });
  }

  private async run(
    server: string,
    command: string,
    use: SecretUse,
    signal: AbortSignal | undefined,
    mode: 'apply' | 'check',
    stdin?: string,
    asked?: { readonly host: string; readonly port: number },
  ): Promise<ProxyOutcome> {
    const shell = await this.dependencies.openShell(server, use, signal);
    try {
      const result = await shell.exec(command, { ...(stdin === undefined ? {} : { stdin }), ...(signal ? { signal } : {}) });
      const outcome = parseOutcome(result.stdout);
      if (outcome.noDocker) {
        throw new ZavhozError(ErrorCodes.PreconditionFailed, `Docker is not installed on ${server}, so Zavhoz cannot run its proxy there. Install Docker, then try again.`);
      }
      if (result.code !== 0 || !outcome.action) {
        const why = outcome.failure ?? (result.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${String(result.code)}`);
        const error = proxyFailure(server, this.dependencies.image(), outcome.noFolder ? 'folder' : failureKind(`${why}\n${result.stderr}`), why.slice(0, 500));
        // An SSH exec that never ran the script (255: the connection broke) says nothing of the proxy.
        if (result.code !== 255) this.dependencies.seen?.(server, { state: 'unhealthy', version: null, error: error.message });
        throw error;
      }
      const probe = outcome.probe;
      const notServing = probe?.serves === false && asked ? notServingMessage(server, asked, probe.why) : undefined;
      this.dependencies.seen?.(server, { state: notServing ? 'unhealthy' : 'running', version: outcome.version ?? null, error: notServing ?? null });
      const done: ProxyOutcome = { server, container: proxyContainer(server), action: outcome.action, version: outcome.version ?? null, ...(probe ? { probe } : {}) };
      this.dependencies.acted?.(done, mode);
      return done;
    } finally {
      shell.close();
    }
  }

  private serialize<T>(server: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(server) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(server, settled);
    void settled.then(() => {
      if (this.queues.get(server) === settled) this.queues.delete(server);
    });
    return next;
  }
}

/** Why a proxy that runs is unhealthy all the same: what its request got, and what to look at for that kind of failure. */
function notServingMessage(server: string, asked: { readonly host: string; readonly port: number }, why: string): string {
  const container = proxyContainer(server);
  const base = `The proxy on ${server} runs but does not serve: a request for ${asked.host} on its HTTPS port ${String(asked.port)} got ${why}.`;
  if (/(curl|python3) exit 35\)$/.test(why)) {
    return `${base} It has no certificate for ${asked.host}: with ACME (proxyTls acme) the name's DNS must point at ${server} and ports 80 and 443 must be open to the internet; \`docker logs ${container}\` on the server says why the certificate was not issued.`;
  }
  if (/(curl|python3) exit 7\)$/.test(why)) {
    return `${base} Nothing listens on port ${String(asked.port)}: another process may hold it (the setting proxyHttpsPort names it), or the proxy's config was changed by hand; \`docker logs ${container}\` on the server says more. The next domain change writes the config again.`;
  }
  return `${base} Look at \`docker logs ${container}\` on the server; \`docker restart ${container}\` starts it again with its config.`;
}

/** Why the proxy script failed, as far as its output tells: each kind has its own remedy. */
type FailureKind = 'folder' | 'docker-permission' | 'pull' | 'other';

function failureKind(output: string): FailureKind {
  if (/permission denied.*docker|docker.*permission denied/i.test(output)) return 'docker-permission';
  if (/unable to find image|pull access denied|manifest unknown|manifest for .* not found|failed to resolve reference|repository does not exist|toomanyrequests|error pulling image|invalid reference format/i.test(output)) {
    return 'pull';
  }
  return 'other';
}

/** The error for a failed proxy script: what went wrong on the server and what the user does about it. */
function proxyFailure(server: string, image: string, kind: FailureKind, why: string): ZavhozError {
  const container = proxyContainer(server);
  switch (kind) {
    case 'folder':
      return new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `Zavhoz cannot write the proxy's folder ${proxyFolder(container)} on ${server}: the SSH user needs root (or sudo) for /opt/zavhoz. Connect to the server as root, or make the folder the SSH user's once: sudo mkdir -p /opt/zavhoz && sudo chown "$USER" /opt/zavhoz`,
      );
    case 'docker-permission':
      return new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `The SSH user on ${server} may not use Docker (permission denied on its socket), so Zavhoz cannot run its proxy there. Connect as root, or add the user to the docker group (sudo usermod -aG docker "$USER", then log in again). Docker said: ${why}`,
      );
    case 'pull':
      return new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `${server} could not pull the proxy image ${image}: ${why}. Check the setting proxyImage (an image the server can pull, e.g. caddy:2): zavhoz config set proxyImage IMAGE`,
      );
    case 'other':
      return new ZavhozError(
        ErrorCodes.Unreachable,
        `The proxy on ${server} did not take its configuration: ${why}. Look at \`docker logs ${container}\` on the server; if the proxy image is not a stock Caddy, check the setting proxyImage (now ${image}).`,
      );
  }
}
