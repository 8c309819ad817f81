/**
 * A private OpenSSH server on a loopback address of its own for tests: own host key, own client key, key-only login
 * as the current user, everything in one folder that `stop()` removes.
 *
 * Why an address of its own: the test files run two at a time, and each deploy test allocates ports from 8000 up
 * on "its" server. With every sshd on 127.0.0.1, two files' stand-in containers (test/fakes/docker) shared one port
 * space, and a health check could reach the other file's server (a CI run failed that way). Each sshd now listens
 * on a random address of 127.0.0.0/8, and the docker double binds the address its SSH session came in on, so every
 * test server is a host of its own, as a real VPS is.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { delay, descendants, hasExited, killTreeSync, onProcessExit, removeFolder, signalQuietly, tailOf, terminateTree, waitForExit } from './processes.js';

const execFileAsync = promisify(execFile);

/** A running private sshd and the key that may log in to it. */
export interface SshdServer {
  /** The loopback address it listens on: one of its own (127.x.y.z, not 127.0.0.1) unless `host` was given. */
  host: string;
  port: number;
  /** The account to log in as: the user running the tests. */
  user: string;
  /** Ed25519 client key, OpenSSH format, no passphrase; `path` is the 0600 private key file. */
  clientKey: { privateKeyPem: string; publicKey: string; path: string };
  /** SHA256 fingerprint of the host key, as `ssh-keygen -l` prints it (`SHA256:…`). */
  hostKeyFingerprint: string;
  /** The server's private folder (keys, config, log); removed by `stop()`. */
  dir: string;
  /**
   * With the `docker` option: the DOCKER_CONFIG folder of this host's sessions (its `config.json` is the host's
   * `~/.docker/config.json`, where a `docker login` over SSH lands).
   */
  dockerConfigDir?: string;
  /**
   * The machine loses power: sshd stops accepting, every session and then sshd itself are killed (SIGKILL: nobody is
   * told goodbye), so connections drop and new ones are refused. For tests that play a reboot; `powerOn()` undoes it.
   */
  powerOff(): Promise<void>;
  /** The machine boots: sshd starts again on the same address and port, with the same host key and config. */
  powerOn(): Promise<void>;
  /** Stops sshd and its session processes, then removes `dir`. */
  stop(): Promise<void>;
}

// Generous: the test files start keychains, sshds and daemons side by side on a 2-core machine.
const startTimeoutMs = 30_000;
const sshdPath = '/usr/sbin/sshd';

/** A random address of 127.0.0.0/8 other than 127.0.0.1 (Linux answers on all of them through `lo`). */
function loopbackAddress(): string {
  const bytes = randomBytes(3);
  return `127.${1 + ((bytes[0] ?? 0) % 254)}.${bytes[1] ?? 0}.${1 + ((bytes[2] ?? 0) % 254)}`;
}

/** Asks the kernel for a free port on `host` by binding port 0; sshd then binds it (a small race, retried by the caller). */
function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe server'));
      });
    });
  });
}

/** True when something accepts TCP connections on host:port (no answer within 1 s counts as no). */
export function portAcceptsConnections(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Generates an unencrypted ed25519 key pair at `path` and `path.pub`. */
async function generateKey(path: string, comment: string): Promise<void> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** The server config: loopback only, key login only, and no PAM or strict modes because the folder lives in /tmp. */
function sshdConfig(dir: string, host: string, port: number, sessionEnvironment: Record<string, string>, homeKeys = false): string {
  const setEnv = Object.entries(sessionEnvironment).map(([name, value]) => `${name}=${value}`);
  return [
    ...(setEnv.length > 0 ? [`SetEnv ${setEnv.join(' ')}`] : []),
    `ListenAddress ${host}`,
    `Port ${port}`,
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}${homeKeys ? ' .ssh/authorized_keys' : ''}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** Starts sshd on the given port; resolves once the port accepts connections, rejects with sshd's log otherwise. */
async function launch(dir: string, configPath: string, host: string, port: number, appendLog = false): Promise<ChildProcess> {
  const logPath = join(dir, 'sshd.log');
  const log = openSync(logPath, appendLog ? 'a' : 'w', 0o600);
  let child: ChildProcess;
  try {
    // -D keeps it our child, so its exit is observable (see processes.ts); -e sends the log to stderr, i.e. the log file.
    // detached gives it a process group of its own; stdio goes to a file so no pipe holds the event loop.
    child = spawn(sshdPath, ['-D', '-e', '-f', configPath], { detached: true, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  // A failed spawn then shows in the log and as an exit code, not as a crash of the test process.
  child.on('error', (error) => appendFileSync(logPath, `could not start ${sshdPath}: ${error.message}\n`));
  child.unref();
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(child)) {
      throw new Error(`sshd exited with ${String(child.exitCode ?? child.signalCode)} before listening on port ${port}:\n${tailOf(logPath)}`);
    }
    if (await portAcceptsConnections(host, port)) return child;
    await delay(50);
  }
  await terminateTree(child);
  throw new Error(`sshd did not accept connections on ${host}:${port} within ${startTimeoutMs} ms:\n${tailOf(logPath)}`);
}

/** Options for {@link startSshd}. */
export interface SshdOptions {
  /** More public keys that may log in. */
  authorizedKeys?: string[];
  /** Listen on this loopback address instead of a new one. */
  host?: string;
  /**
   * Give every SSH session this container engine (`DOCKER_HOST`, e.g. `Engine.dockerHost` of engine.ts) and a
   * docker config folder of this host's own (`DOCKER_CONFIG`), as a server with docker installed would have.
   * `composeV2`: the compose v2 plugin (engine.ts `composeV2Plugin()`) this host has as `docker compose`.
   */
  docker?: { host: string; composeV2?: string };
  /** Also accept each user's own `~/.ssh/authorized_keys`, as a real server does (users Zavhoz creates log in with their keys). */
  homeAuthorizedKeys?: boolean;
}

/**
 * Starts a private sshd on a free port of a new loopback address (or of `host`: a second sshd on the same "machine",
 * e.g. the same server with a new host key) that accepts the generated client key plus `authorizedKeys`.
 */
export async function startSshd(options?: SshdOptions): Promise<SshdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'zavhoz-sshd-'));
  let child: ChildProcess | undefined;
  const unregister = onProcessExit(() => {
    if (child) killTreeSync(child);
    removeFolder(dir);
  });

  try {
    const hostKeyPath = join(dir, 'host_key');
    const clientKeyPath = join(dir, 'client_key');
    await Promise.all([generateKey(hostKeyPath, 'zavhoz-test-host'), generateKey(clientKeyPath, 'zavhoz-test-client')]);
    const publicKey = readFileSync(`${clientKeyPath}.pub`, 'utf8').trim();
    const privateKeyPem = readFileSync(clientKeyPath, 'utf8');
    const authorized = [publicKey, ...(options?.authorizedKeys ?? []).map((key) => key.trim())];
    writeFileSync(join(dir, 'authorized_keys'), `${authorized.join('\n')}\n`, { mode: 0o600 });

    const { stdout: fingerprintLine } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyPath}.pub`]);
    const hostKeyFingerprint = fingerprintLine.split(' ')[1];
    if (hostKeyFingerprint === undefined || !hostKeyFingerprint.startsWith('SHA256:')) {
      throw new Error(`unexpected ssh-keygen fingerprint output: ${fingerprintLine}`);
    }

    // sshd refuses to start without its privilege separation folder; the package does not create it.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    const sessionEnvironment: Record<string, string> = {};
    let dockerConfigDir: string | undefined;
    if (options?.docker !== undefined) {
      dockerConfigDir = join(dir, 'docker');
      mkdirSync(dockerConfigDir, { mode: 0o700 });
      if (options.docker.composeV2 !== undefined) {
        mkdirSync(join(dockerConfigDir, 'cli-plugins'), { mode: 0o700 });
        symlinkSync(options.docker.composeV2, join(dockerConfigDir, 'cli-plugins', 'docker-compose'));
      }
      sessionEnvironment.DOCKER_HOST = options.docker.host;
      sessionEnvironment.DOCKER_CONFIG = dockerConfigDir;
    }

    // Another process may grab the probed port before sshd binds it: try a few ports before giving up.
    const configPath = join(dir, 'sshd_config');
    const host = options?.host ?? loopbackAddress();
    let port = 0;
    let lastError: unknown;
    for (let attempt = 0; attempt < 3 && child === undefined; attempt += 1) {
      port = await findFreePort(host);
      writeFileSync(configPath, sshdConfig(dir, host, port, sessionEnvironment, options?.homeAuthorizedKeys === true), { mode: 0o600 });
      try {
        child = await launch(dir, configPath, host, port);
      } catch (error) {
        lastError = error;
        if (!tailOf(join(dir, 'sshd.log')).includes('Address already in use')) break;
      }
    }
    if (child === undefined) throw lastError;

    let stopped = false;
    return {
      host,
      port,
      user: userInfo().username,
      clientKey: { privateKeyPem, publicKey, path: clientKeyPath },
      hostKeyFingerprint,
      dir,
      ...(dockerConfigDir !== undefined ? { dockerConfigDir } : {}),
      async powerOff(): Promise<void> {
        const listener = child;
        if (listener?.pid === undefined || hasExited(listener)) return;
        // Stopped first, so no new session starts while the ones there are killed.
        signalQuietly(listener.pid, 'SIGSTOP');
        for (const session of descendants(listener.pid)) signalQuietly(session, 'SIGKILL');
        signalQuietly(listener.pid, 'SIGKILL');
        if (!(await waitForExit(listener, 10_000))) throw new Error(`sshd ${String(listener.pid)} did not exit after SIGKILL`);
        releaseLocksOfKilledSessions();
      },
      async powerOn(): Promise<void> {
        if (stopped) throw new Error('this sshd was stopped for good');
        if (child !== undefined && !hasExited(child)) return;
        child = await launch(dir, configPath, host, port, true);
      },
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        // Session processes call setsid(), so a process-group kill would miss them: terminateTree walks /proc.
        if (child) await terminateTree(child);
        releaseLocksOfKilledSessions();
        removeFolder(dir);
        unregister();
      },
    };
  } catch (error) {
    if (child) await terminateTree(child).catch(() => undefined);
    removeFolder(dir);
    unregister();
    throw error;
  }
}

/**
 * The test user's login shell may run `pyenv init` (pyenv's own rehash, guarded by a lock file in its shims folder).
 * A session killed while it holds that lock, as a test that drops connections or stops sshd does, leaves the lock
 * behind, and every later login then waits 60 s for it. Removes such a lock when no rehash is running any more.
 */
export function releaseLocksOfKilledSessions(): void {
  const lock = join(process.env['PYENV_ROOT'] ?? join(homedir(), '.pyenv'), 'shims', '.pyenv-shim');
  if (!existsSync(lock)) return;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('pyenv-rehash')) return;
    } catch {
      // Ended while listing.
    }
  }
  rmSync(lock, { force: true });
}

/** `ssh` options for a non-interactive login to `server` (append `user@host` and the command yourself). */
export function sshArgs(server: SshdServer): string[] {
  return [
    // -F /dev/null: the developer's own ~/.ssh/config must not change what the tests do.
    '-F', '/dev/null',
    '-i', server.clientKey.path,
    '-p', String(server.port),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    // Silences "Permanently added … to the list of known hosts" on every call.
    '-o', 'LogLevel=ERROR',
  ];
}
