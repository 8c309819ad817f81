/**
 * Shared set-up of the deploy tests: a real daemon with the real vault on a private keychain, a real sshd on
 * loopback as the target (logging in as the test user, so the playbook writes /opt/services/<project> on this
 * machine), a local bare git repository holding the fixture project, and the `docker` and `ufw` test doubles first
 * on the target's PATH.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { type DockerDouble, installDockerDouble } from '../fakes/dockerDouble.js';
import { installUfwDouble, type UfwDouble } from '../fakes/ufwDouble.js';
import { type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { delay, descendants, signalQuietly, waitUntil } from '../harness/processes.js';
import { portAcceptsConnections, type SshdServer, startSshd } from '../harness/sshd.js';

/** The fixture project the tests deploy. */
export const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/project');

/** Runs the CLI and parses its --json output, failing with stderr if it exited non-zero. */
export async function cliJson<T>(daemon: TestDaemon, args: readonly string[], input?: string): Promise<T> {
  const result = await daemon.cli([...args, '--json'], input === undefined ? {} : { input });
  assert.equal(result.code, 0, `zavhoz ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

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

/**
 * {@link prependRemotePath}, and `environment` set in every session too. sshd keeps only its first `SetEnv` line,
 * so call one of the two once, with everything.
 */
export async function setRemoteEnvironment(sshd: SshdServer, environment: Readonly<Record<string, string>>, ...folders: string[]): Promise<void> {
  const entries = Object.entries({ ...environment, PATH: [...folders, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'].join(':') });
  for (const [name, value] of entries) {
    // sshd_config splits on blanks and treats quotes specially: keep every entry a single plain word.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /[\s"'\\]/.test(value)) throw new Error(`cannot pass ${name}=${value} through sshd's SetEnv`);
  }
  const config = path.join(sshd.dir, 'sshd_config');
  fs.appendFileSync(config, `SetEnv ${entries.map(([name, value]) => `${name}=${value}`).join(' ')}\n`);
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

/** A bare git repository holding the fixture project on branch main, in a folder of its own. */
export function bareRepository(): { url: string; commit: string; remove(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-repo-'));
  const work = path.join(root, 'work');
  const bare = path.join(root, 'project.git');
  fs.cpSync(FIXTURE, work, { recursive: true });
  const git = (cwd: string, ...args: string[]): string =>
    execFileSync('git', ['-c', 'user.email=test@zavhoz.invalid', '-c', 'user.name=zavhoz test', ...args], { cwd, encoding: 'utf8' }).trim();
  git(root, 'init', '--quiet', '--bare', bare);
  git(work, 'init', '--quiet', '--initial-branch', 'main');
  git(work, 'add', '--all');
  git(work, 'commit', '--quiet', '--message', 'fixture project');
  git(work, 'push', '--quiet', bare, 'main');
  return { url: bare, commit: git(work, 'rev-parse', 'HEAD'), remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Everything a deploy test needs, set up once per file. */
export interface DeployWorld {
  readonly keyring: KeyringSession;
  readonly sshd: SshdServer;
  readonly docker: DockerDouble;
  readonly ufw: UfwDouble;
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
  dispose(): Promise<void>;
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
}

/** Starts the keychain, sshd, docker double, git repository and daemon, and registers the sshd as a ready server. */
export async function setUpDeployWorld(options: DeployWorldOptions = {}): Promise<DeployWorld> {
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
    const docker = installDockerDouble();
    teardown.push(() => removeDockerDouble(docker));
    const ufw = installUfwDouble();
    teardown.push(() => ufw.remove());
    const repository = bareRepository();
    teardown.push(() => repository.remove());
    await setRemoteEnvironment(sshd, options.remoteEnvironment ?? {}, docker.binFolder, ufw.binFolder);
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
    const server = 'deploy_target';
    await cliJson(daemon, ['server', 'add', server, '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', sshKeyHandle]);
    const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', server]);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'server check failed');

    return {
      keyring,
      sshd,
      docker,
      ufw,
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
  let running = true;
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
export function deployArguments(world: DeployWorld, project: string, extra: readonly string[] = []): string[] {
  return ['deploy', FIXTURE, '--project', project, '--repo', 'Acme/Demo', '--repo-url', world.repository.url, ...extra];
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
export async function deployAndWait(world: DeployWorld, project: string, extra: readonly string[] = []): Promise<{ run: RunDetail; log: string }> {
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
export async function storeUserSecrets(world: DeployWorld, project: string): Promise<{ apiToken: string; webhook: string }> {
  const apiToken = `api-${crypto.randomBytes(12).toString('hex')}`;
  const webhook = `hook ${crypto.randomBytes(12).toString('hex')} 'quoted' #`;
  await world.storeSecret('API_TOKEN', 'token', apiToken, project);
  await world.storeSecret('WEBHOOK_SECRET', 'text', webhook, project);
  return { apiToken, webhook };
}
