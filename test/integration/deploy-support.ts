/**
 * Shared set-up of the deploy tests: a real daemon with the real vault on a private keychain, a real sshd on
 * loopback as the target (logging in as the test user, so the playbook writes /opt/services/<project> on this
 * machine), a local bare git repository holding the fixture project, and the `ufw` test double first on the
 * target's PATH. The container engine is the run's real one (test/harness/engine.ts) with `setUpRealDeployWorld`,
 * or the `docker` test double with `setUpDeployWorld` (for the tests not moved to the real engine yet).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { type DockerDouble, installDockerDouble } from '../fakes/dockerDouble.js';
import { installUfwDouble, type UfwDouble } from '../fakes/ufwDouble.js';
import { cliJson, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { composeV2Plugin, type Engine, startEngine } from '../harness/engine.js';
import { buildWebImage, type TestImage } from '../harness/images.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { delay, descendants, signalQuietly, waitUntil } from '../harness/processes.js';
import { portAcceptsConnections, releaseLocksOfKilledSessions, type SshdServer, startSshd } from '../harness/sshd.js';

/** The fixture project the tests deploy. */
export const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/project');

/** The harness's {@link cliJson}, also exported here for the deploy tests that import their world from this file. */
export { cliJson };

/** The pid of the harness sshd's listener (the same across SIGHUP, on which sshd re-executes itself). */
function sshdPid(sshd: SshdServer): number {
  return Number(fs.readFileSync(path.join(sshd.dir, 'sshd.pid'), 'utf8'));
}

/**
 * Puts `folders`, in order, first on the PATH of every session of the harness's sshd: an sshd `SetEnv` line, then
 * SIGHUP, on which sshd re-executes itself with the new config under the same pid. Call it once, with every folder.
 */
export async function prependRemotePath(sshd: SshdServer, ...folders: string[]): Promise<void> {
  await setRemoteEnvironment(sshd, {}, ...folders);
}

/** The PATH a test target's sessions end with, after the folders a test puts first. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * {@link prependRemotePath}, and `environment` set in every session too. sshd keeps only its first `SetEnv` line,
 * so each call replaces what an earlier one set: pass everything every time. An `environment.PATH` replaces the
 * system part of the PATH (after `folders`).
 */
export async function setRemoteEnvironment(sshd: SshdServer, environment: Readonly<Record<string, string>>, ...folders: string[]): Promise<void> {
  const entries = Object.entries({ ...environment, PATH: [...folders, environment.PATH ?? SYSTEM_PATH].join(':') });
  for (const [name, value] of entries) {
    // sshd_config splits on blanks and treats quotes specially: keep every entry a single plain word.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /[\s"'\\]/.test(value)) throw new Error(`cannot pass ${name}=${value} through sshd's SetEnv`);
  }
  const config = path.join(sshd.dir, 'sshd_config');
  const kept = fs.readFileSync(config, 'utf8').split('\n').filter((line) => !line.startsWith('SetEnv '));
  fs.writeFileSync(config, [`SetEnv ${entries.map(([name, value]) => `${name}=${value}`).join(' ')}`, ...kept].join('\n'));
  // The old listener answers until sshd has handled the signal: wait for the re-executed sshd's own
  // "Server listening on" line in its log, then for it to accept.
  const log = path.join(sshd.dir, 'sshd.log');
  const listening = (): number => (fs.readFileSync(log, 'utf8').match(/^Server listening on /gm) ?? []).length;
  const before = listening();
  process.kill(sshdPid(sshd), 'SIGHUP');
  await waitUntil('sshd to restart after SIGHUP', () => (listening() > before ? true : undefined), 30_000);
  await waitUntil('sshd to listen again after SIGHUP', async () => ((await portAcceptsConnections(sshd.host, sshd.port)) ? true : undefined), 30_000);
}

/**
 * Ends every SSH connection to the harness's sshd at once, as a network failure does, while sshd itself keeps
 * listening: each connection's session process (and what runs under it) is killed.
 */
export function dropSshConnections(sshd: SshdServer): void {
  for (const pid of descendants(sshdPid(sshd))) signalQuietly(pid, 'SIGKILL');
  releaseLocksOfKilledSessions();
}

/** Where the playbook writes git credentials on the target (it prefers tmpfs). */
const CREDENTIAL_BASES = ['/dev/shm', '/tmp'] as const;

/** The name prefix of a project's git credentials folders, as the playbook derives it (`git_credentials_prefix`). */
export function gitCredentialsPrefix(project: string): string {
  return `zavhoz-git-${crypto.createHash('sha1').update(project).digest('hex').slice(0, 12)}-`;
}

/** Paths of the target's git credentials folders (of any project) that are there now. */
export function gitCredentialFolders(): string[] {
  return CREDENTIAL_BASES.flatMap((base) =>
    fs.existsSync(base) ? fs.readdirSync(base).filter((name) => name.startsWith('zavhoz-git-')).map((name) => path.join(base, name)) : [],
  );
}

/** A bare git repository holding the fixture project (or `source`) on branch main, in a folder of its own. */
export function bareRepository(
  source: string = FIXTURE,
  branches: Readonly<Record<string, (folder: string) => void>> = {},
): { url: string; commit: string; remove(): void } {
  // The folder's random suffix after a dot: the agent tools' secret guard reads a long run of letters, digits, `-` and
  // `/` as a possible token, and `/tmp/zavhoz-repo-Q2b2dS/project` was one for ~1.7% of suffixes (an agent's deploy
  // with that repoUrl was refused in CI); a `.` ends the run, as it does in host names.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-repository.'));
  const work = path.join(root, 'work');
  const bare = path.join(root, 'project.git');
  fs.cpSync(source, work, { recursive: true });
  const git = (cwd: string, ...args: string[]): string =>
    execFileSync('git', ['-c', 'user.email=test@zavhoz.invalid', '-c', 'user.name=zavhoz test', ...args], { cwd, encoding: 'utf8' }).trim();
  git(root, 'init', '--quiet', '--bare', bare);
  git(work, 'init', '--quiet', '--initial-branch', 'main');
  git(work, 'add', '--all');
  git(work, 'commit', '--quiet', '--message', 'fixture project');
  git(work, 'push', '--quiet', bare, 'main');
  const commit = git(work, 'rev-parse', 'HEAD');
  for (const [branch, change] of Object.entries(branches)) {
    git(work, 'checkout', '--quiet', '-b', branch, 'main');
    change(work);
    git(work, 'commit', '--quiet', '--all', '--message', branch);
    git(work, 'push', '--quiet', bare, branch);
  }
  return { url: bare, commit, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** What every deploy world has, whichever container engine its target uses. */
export interface DeployWorldBase {
  readonly keyring: KeyringSession;
  readonly sshd: SshdServer;
  readonly ufw: UfwDouble;
  /** The project folder deploys are started from (the fixture, or a copy naming this file's test images). */
  readonly fixture: string;
  readonly repository: { url: string; commit: string };
  readonly daemon: TestDaemon;
  readonly server: string;
  readonly sshKeyHandle: string;
  /** Secret values the tests stored, to look for where they must not be. */
  readonly values: Map<string, string>;
  /** A fresh project name; its /opt/services folder is removed by `dispose`. */
  newProject(prefix: string): string;
  /** Stores a project secret from stdin and returns its handle. */
  storeSecret(name: string, type: string, value: string, project?: string): Promise<string>;
  /** Replaces the system part of the target's PATH (after the test doubles' folders); undefined: the usual one. */
  setRemoteSystemPath(systemPath: string | undefined): Promise<void>;
  dispose(): Promise<void>;
}

/** A deploy world whose target has the `docker` test double. */
export interface DeployWorld extends DeployWorldBase {
  readonly docker: DockerDouble;
}

/** The real engine as a deploy world's target has it. */
export interface TargetEngine {
  readonly engine: Engine;
  /** The target's docker config folder: its `config.json` is the server's `~/.docker/config.json`. */
  readonly configDir: string;
  /** The image the fixture's services run, in the engine's registry (pushed there directly). */
  readonly image: TestImage;
  /** The relay the fixture's image is pulled through (`image` with `relay.address` for the registry). */
  readonly relay: RegistryRelay;
  /** The image reference the fixture's compose files name: through the relay. */
  readonly reference: string;
  /** Gives the target the compose v2 plugin (`docker compose`) or takes it away (then compose v1 remains). */
  setComposeV2(installed: boolean): void;
}

/** A deploy world whose target reaches the run's real container engine. */
export interface RealDeployWorld extends DeployWorldBase {
  readonly target: TargetEngine;
}

/** Kills every process of the docker double (servers, and pulls a cancelled deploy left sleeping), then removes it. */
function removeDockerDouble(docker: DockerDouble): void {
  for (const pid of processesMentioning(docker.binFolder)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  docker.remove();
}

/** Options of {@link setUpDeployWorld}. */
export interface DeployWorldOptions {
  /** Set in every SSH session on the target (as the server's login environment would), e.g. `GIT_SSL_CAINFO`. */
  readonly remoteEnvironment?: Readonly<Record<string, string>>;
  /**
   * The target's server handle (default `deploy_target`). What lives on the host under it (the proxy's folder
   * `/opt/zavhoz/proxy/zavhoz-proxy-HANDLE`) is shared by every run on the machine: runs that start a proxy give
   * their own, or one run's teardown removes another's proxy config.
   */
  readonly server?: string;
}

/** Options of {@link setUpRealDeployWorld}. */
export interface RealDeployWorldOptions extends DeployWorldOptions {
  /**
   * Names this test file's images (`127.0.0.1:PORT/zavhoz-NAME/backend`) and nothing else: the engine is shared by
   * the test files of a run, so each file uses its own.
   */
  readonly name: string;
  /** Start with the compose v2 plugin on the target (default: compose v1 only). */
  readonly composeV2?: boolean;
  /**
   * `run` (default): the engine the run's test files share. `private`: one of this file's own, for a test that
   * disturbs the engine itself (`engine.powerCycle()`); it costs a second engine and registry.
   */
  readonly engine?: 'run' | 'private';
}

/**
 * A copy of the fixture project whose services run `image` and publish on `host` only: every test host shares
 * this machine's kernel, so `${PORT}:8000` (every address) would meet another test file's deploy on the same port.
 */
export function fixtureWithImage(image: string, host: string): { folder: string; remove(): void } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-fixture-'));
  fs.cpSync(FIXTURE, folder, { recursive: true });
  const base = path.join(folder, 'infra/compose.base.yml');
  const production = path.join(folder, 'infra/compose.prod.yml');
  const replaced = (file: string, from: string, to: string): void => {
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.includes(from), `${path.basename(file)} of the fixture has ${from}`);
    fs.writeFileSync(file, text.split(from).join(to));
  };
  replaced(base, 'image: ${BACKEND_IMAGE}', `image: ${image}`);
  replaced(base, 'image: postgres:16-alpine', `image: ${image}`);
  replaced(production, '"${PORT}:8000"', `"${host}:\${PORT}:8000"`);
  return { folder, remove: () => fs.rmSync(folder, { recursive: true, force: true }) };
}

/**
 * A TCP relay in front of the test registry, so that a test can make a pull hang as a slow network does
 * (`stall`): while stalled, new connections are held without an answer; `stall(false)` lets them through.
 */
export interface RegistryRelay {
  /** `127.0.0.1:PORT`: name images with it to pull through the relay. */
  readonly address: string;
  stall(on: boolean): void;
  /** Connections held since the last `stall(true)`: a pull is waiting. */
  readonly held: number;
  close(): Promise<void>;
}

/** Starts a {@link RegistryRelay} to `target` (`host:port`). */
export async function startRegistryRelay(target: string): Promise<RegistryRelay> {
  const [targetHost = '127.0.0.1', targetPort = '0'] = target.split(':');
  let stalled = false;
  let held: net.Socket[] = [];
  let heldCount = 0;
  const sockets = new Set<net.Socket>();
  const relay = (client: net.Socket): void => {
    const upstream = net.createConnection({ host: targetHost, port: Number(targetPort) });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (stalled) {
      client.pause();
      held.push(client);
      heldCount += 1;
    } else {
      relay(client);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the registry relay has no port');
  return {
    address: `127.0.0.1:${address.port}`,
    stall(on) {
      stalled = on;
      heldCount = 0;
      if (on) return;
      const waiting = held;
      held = [];
      for (const client of waiting) {
        if (client.destroyed) continue;
        relay(client);
        client.resume();
      }
    },
    get held() {
      return heldCount;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Removes a compose project's containers, networks and volumes from the engine (not another file's). */
export async function removeComposeProject(engine: Engine, project: string): Promise<void> {
  const label = `label=com.docker.compose.project=${project}`;
  const ids = async (kind: string[]): Promise<string[]> => (await engine.docker([...kind, '--filter', label])).stdout.split('\n').filter(Boolean);
  const containers = await ids(['ps', '-aq']);
  if (containers.length > 0) await engine.docker(['rm', '--force', '--volumes', ...containers]);
  const networks = await ids(['network', 'ls', '-q']);
  if (networks.length > 0) await engine.docker(['network', 'rm', ...networks]);
  const volumes = await ids(['volume', 'ls', '-q']);
  if (volumes.length > 0) await engine.docker(['volume', 'rm', '--force', ...volumes]);
}

/** Starts the keychain, sshd, docker double, git repository and daemon, and registers the sshd as a ready server. */
export async function setUpDeployWorld(options: DeployWorldOptions = {}): Promise<DeployWorld> {
  const world = await setUpWorld(options, async (_sshd, teardown) => {
    const docker = installDockerDouble();
    teardown.push(() => removeDockerDouble(docker));
    return { fixture: FIXTURE, environment: {}, path: [docker.binFolder], extra: { docker } };
  });
  return world;
}

/**
 * Starts the keychain, sshd, git repository and daemon with the run's real container engine: the target's SSH
 * sessions reach it (DOCKER_HOST, a docker config folder of the target's own, logged in to the test registry as an
 * administrator would have done once), the fixture's services run this file's web image, pushed to the registry.
 */
export async function setUpRealDeployWorld(options: RealDeployWorldOptions): Promise<RealDeployWorld> {
  return setUpWorld(options, async (sshd, teardown, projects) => {
    const engine = await startEngine({ scope: options.engine ?? 'run' });
    teardown.push(() => engine.release());
    teardown.push(async () => {
      for (const project of projects) await removeComposeProject(engine, project).catch(() => undefined);
    });
    const image = await buildWebImage(engine, { name: `zavhoz-${options.name}/backend`, tag: '1.0.0' });
    const relay = await startRegistryRelay(engine.registry.address);
    teardown.push(() => relay.close());
    const reference = image.reference.replace(engine.registry.address, relay.address);
    const fixture = fixtureWithImage(reference, sshd.host);
    teardown.push(() => fixture.remove());
    const configDir = path.join(sshd.dir, 'docker');
    fs.mkdirSync(configDir, { mode: 0o700 });
    const plugin = composeV2Plugin();
    const setComposeV2 = (installed: boolean): void => {
      const plugins = path.join(configDir, 'cli-plugins');
      fs.rmSync(plugins, { recursive: true, force: true });
      if (!installed) return;
      if (plugin === undefined) throw new Error('compose v2 is not installed here: run test/harness/install-compose-v2.sh');
      fs.mkdirSync(plugins, { mode: 0o700 });
      fs.symlinkSync(plugin, path.join(plugins, 'docker-compose'));
    };
    setComposeV2(options.composeV2 === true);
    const { registry } = engine;
    for (const address of [registry.address, relay.address]) {
      await engine.docker(['--config', configDir, 'login', '--username', registry.username, '--password-stdin', address], { input: registry.password });
    }
    const target: TargetEngine = { engine, configDir, image, relay, reference, setComposeV2 };
    const environment = { DOCKER_HOST: engine.dockerHost, DOCKER_CONFIG: configDir };
    return { fixture: fixture.folder, environment, path: [], branches: failingBranches(reference), extra: { target } };
  });
}

/**
 * Branches of the fixture repository whose deploy fails for real: `exits` (the backend exits with code 3 at
 * start), `unhealthy` (its image's health check never passes), `missing-image` (a tag the registry does not have),
 * `slow-up` (`compose up` waits for a database that takes ten minutes to be healthy).
 */
function failingBranches(reference: string): Record<string, (folder: string) => void> {
  const edit = (folder: string, from: string, to: string): void => {
    const file = path.join(folder, 'infra/compose.base.yml');
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.includes(from), `compose.base.yml has ${from}`);
    fs.writeFileSync(file, text.replace(from, to));
  };
  const logLevel = '      LOG_LEVEL: ${LOG_LEVEL:-info}\n';
  return {
    exits: (folder) => edit(folder, logLevel, `${logLevel}      EXIT_CODE: "3"\n`),
    unhealthy: (folder) => edit(folder, logLevel, `${logLevel}      FAIL_HEALTH: "1"\n`),
    'missing-image': (folder) => edit(folder, `image: ${reference}`, `image: ${reference.replace(/:[^:/]+$/, ':no-such-release')}`),
    // `compose up` waits for the database to be healthy, which it is not for minutes: a deploy that stays in `up`.
    'slow-up': (folder) => {
      edit(folder, '    depends_on:\n      - db\n', '    depends_on:\n      db:\n        condition: service_healthy\n');
      edit(
        folder,
        '      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n',
        '      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n      START_DELAY_SECONDS: "600"\n    healthcheck:\n      start_period: 600s\n',
      );
    },
  };
}

/** What a world's container engine adds to the common set-up. */
interface EngineSetUp<Extra> {
  readonly fixture: string;
  /** Branches of the fixture repository besides main. */
  readonly branches?: Readonly<Record<string, (folder: string) => void>>;
  /** Set in the target's SSH sessions. */
  readonly environment: Readonly<Record<string, string>>;
  /** Folders first on the target's PATH. */
  readonly path: readonly string[];
  readonly extra: Extra;
}

/** The set-up both kinds of world share, around the engine's own part. */
async function setUpWorld<Extra extends object>(
  options: DeployWorldOptions,
  engineSetUp: (sshd: SshdServer, teardown: (() => Promise<void> | void)[], projects: readonly string[]) => Promise<EngineSetUp<Extra>>,
): Promise<DeployWorldBase & Extra> {
  // Torn down in reverse order, also when a later step of the set-up fails.
  const teardown: (() => Promise<void> | void)[] = [];
  const projects: string[] = [];
  const tearDown = async (): Promise<void> => {
    for (const step of teardown.reverse()) await step();
    for (const project of projects) fs.rmSync(path.join('/opt/services', project), { recursive: true, force: true });
  };
  try {
    const keyring = await startKeyring();
    teardown.push(() => keyring.stop());
    const sshd = await startSshd();
    teardown.push(() => sshd.stop());
    const engine = await engineSetUp(sshd, teardown, projects);
    const ufw = installUfwDouble();
    teardown.push(() => ufw.remove());
    const repository = bareRepository(engine.fixture, engine.branches);
    teardown.push(() => repository.remove());
    const remoteEnvironment = { ...engine.environment, ...options.remoteEnvironment };
    const remoteFolders = [...engine.path, ufw.binFolder];
    await setRemoteEnvironment(sshd, remoteEnvironment, ...remoteFolders);
    const daemon = await startTestDaemon({ env: keyring.env });
    teardown.push(() => daemon.dispose());
    const values = new Map<string, string>();

    const storeSecret = async (name: string, type: string, value: string, project?: string): Promise<string> => {
      const stored = await cliJson<{ handle: string }>(daemon, ['secret', 'set', name, '--type', type, ...(project ? ['--project', project] : [])], value);
      values.set(stored.handle, value);
      return stored.handle;
    };

    // Periodic checks and syncs would race the assertions; these tests drive the server by hand.
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '0']);
    const sshKeyHandle = await storeSecret('DEPLOY_SSH_KEY', 'private_key', sshd.clientKey.privateKeyPem);
    const server = options.server ?? 'deploy_target';
    await cliJson(daemon, ['server', 'add', server, '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', sshKeyHandle]);
    const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', server]);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'server check failed');

    return {
      ...engine.extra,
      keyring,
      sshd,
      ufw,
      fixture: engine.fixture,
      repository,
      daemon,
      server,
      sshKeyHandle,
      values,
      newProject(prefix) {
        const name = `${prefix}-${crypto.randomBytes(3).toString('hex')}`;
        projects.push(name);
        return name;
      },
      storeSecret,
      setRemoteSystemPath: (systemPath) =>
        setRemoteEnvironment(sshd, systemPath === undefined ? remoteEnvironment : { ...remoteEnvironment, PATH: systemPath }, ...remoteFolders),
      dispose: tearDown,
    };
  } catch (error) {
    await tearDown();
    throw error;
  }
}

/** Command lines of every process, sampled until `stop()`; to prove no secret ever shows up in `ps`. */
export function sampleProcessList(): { stop(): Promise<string> } {
  const seen = new Set<string>();
  // `as boolean`: stop() clears it while the loop awaits, out of the checker's narrowing.
  let running = true as boolean;
  const loop = (async () => {
    while (running) {
      try {
        for (const line of execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n')) seen.add(line);
      } catch {
        // ps raced a process exit; the next sample covers it.
      }
      await delay(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen].join('\n');
    },
  };
}

/** Pids of live processes whose command line mentions `text` (e.g. a run folder). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const commandLine = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const state = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const zombie = state.slice(state.lastIndexOf(')') + 2).startsWith('Z');
      if (!zombie && commandLine.includes(text)) pids.push(Number(name));
    } catch {
      // Gone while listing.
    }
  }
  return pids;
}

/** Parses a .env file written by the deploy into name → value (values as the file holds them, quotes removed). */
export function readDotenv(file: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    let value = match[2];
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    else if (value.startsWith('"') && value.endsWith('"')) value = JSON.parse(value.replace(/\\\$/g, '$')) as string;
    values.set(match[1], value);
  }
  return values;
}

/** `zavhoz deploy FIXTURE --project P …` of the world's fixture repository, as an argument array. */
export function deployArguments(world: DeployWorldBase, project: string, extra: readonly string[] = []): string[] {
  return ['deploy', world.fixture, '--project', project, '--repo', 'Acme/Demo', '--repo-url', world.repository.url, ...extra];
}

/** The last lines of a run's log, for a failure message; empty when the run left none. */
function runLogTail(run: RunDetail | undefined, lines = 40): string {
  if (!run?.folder) return '';
  try {
    return fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * `zavhoz deploy … --wait --json` of the fixture; asserts the run succeeded and returns it with its log. A failure
 * message carries the run's error and the end of run.log, so a CI log alone tells why a deploy failed.
 */
export async function deployAndWait(world: DeployWorldBase, project: string, extra: readonly string[] = []): Promise<{ run: RunDetail; log: string }> {
  const result = await world.daemon.cli([...deployArguments(world, project, extra), '--wait', '--json']);
  let run: RunDetail | undefined;
  try {
    run = JSON.parse(result.stdout) as RunDetail;
  } catch {
    run = undefined;
  }
  const why = `deploy of ${project} exited ${String(result.code)}, run ${run?.status ?? 'unknown'}: ${run?.error ?? result.stderr}\n--- run.log (end) ---\n${runLogTail(run)}`;
  assert.equal(result.code, 0, why);
  assert.equal(run?.status, 'succeeded', why);
  return { run, log: fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8') };
}

/** Stores the two user secrets the fixture asks for, with fresh random values. */
export async function storeUserSecrets(world: DeployWorldBase, project: string): Promise<{ apiToken: string; webhook: string }> {
  const apiToken = `api-${crypto.randomBytes(12).toString('hex')}`;
  const webhook = `hook ${crypto.randomBytes(12).toString('hex')} 'quoted' #`;
  await world.storeSecret('API_TOKEN', 'token', apiToken, project);
  await world.storeSecret('WEBHOOK_SECRET', 'text', webhook, project);
  return { apiToken, webhook };
}
