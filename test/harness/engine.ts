/**
 * A real container engine for tests: Debian's dockerd with its own data root, exec root, socket and pid file in a
 * 0700 folder of the temp directory, no firewall or forwarding changes, plus a private registry with a login on
 * loopback (registry.ts). The recipe and its measurements: ENVIRONMENT.md of the shared notes.
 *
 * One engine per test run: node's test runner starts every test file in a process of its own, so the first file
 * that asks starts the engine and the others of the same run (same runner process) join it. A supervisor process
 * (engineSupervisor.ts) owns dockerd and the registry; it stops them by their PIDs once the runner has ended and
 * no test file still uses them — a test file that dies cannot leave the engine behind, and the engine cannot
 * vanish under a file that still runs. Test files share it through distinct compose project names.
 *
 * `startEngine({ scope: 'private' })` gives a file an engine of its own that `release()` stops at once (the
 * harness's own test uses it to check that nothing is left). Engines never fight over a bridge: none has docker0
 * (`--bridge=none`) and each cuts its networks from a 10.x.0.0/16 no other engine of the machine uses.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUpAbandonedEngines, isProcessAlive, processStartTime, type EngineState, type RegistryAccess } from './engineState.js';
import { delay, onProcessExit, tailOf } from './processes.js';

export type { RegistryAccess } from './engineState.js';

/** A running test engine and its registry, as one test file sees it. */
export interface Engine {
  /** The engine's folder (0700): data root, exec root, socket, logs. */
  readonly dir: string;
  /** `unix://…/docker.sock`: DOCKER_HOST for anything that should use this engine. */
  readonly dockerHost: string;
  /** The registry on loopback and its login (a throwaway password made for this engine). */
  readonly registry: RegistryAccess;
  /**
   * Environment for docker and docker-compose run by the test itself: DOCKER_HOST, and a DOCKER_CONFIG folder of
   * this test file's own (so a `docker login` here never touches ~/.docker or another file's login).
   */
  readonly env: NodeJS.ProcessEnv;
  /** PIDs of the processes the supervisor owns, for tests that check they are gone. */
  readonly pids: { supervisor: number; dockerd: number; containerd: number; registry: number };
  /** The 10.x.0.0/16 the engine's networks come from. */
  readonly addressPool: string;
  /** How long the engine and then the registry took to answer, measured by the supervisor. */
  readonly timings: EngineState['timings'];
  /** Runs the docker client against this engine; rejects with its stderr when it fails. */
  docker(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /**
   * Cuts a private engine's power and brings it back, as a reboot of its machine does: every process of the engine
   * (containers included) is killed with SIGKILL, what it kept in its exec root is gone, then it starts again on the
   * same data root and restarts the containers whose restart policy says so. Resolves once it answers again. The run's
   * shared engine refuses: the other test files use it.
   */
  powerCycle(): Promise<void>;
  /** `docker login` to the registry with this file's DOCKER_CONFIG (once; later calls return at once). */
  login(): Promise<void>;
  /**
   * This test file is done with the engine. A run's engine keeps running for the other files (the supervisor
   * stops it after the run); a private engine is stopped now, and the promise resolves once nothing of it is left.
   */
  release(): Promise<void>;
}

/** Options for {@link startEngine}. */
export interface EngineOptions {
  /** `run` (default): the engine the test files of this run share. `private`: an engine for this process only. */
  scope?: 'run' | 'private';
}

const startTimeoutMs = 120_000;

/** Where the compose v2 plugin may be: test/harness/install-compose-v2.sh's default first, then the system's. */
const composeV2Candidates = [
  fileURLToPath(new URL('../../.test-tools/cli-plugins/docker-compose', import.meta.url)),
  '/usr/local/lib/docker/cli-plugins/docker-compose',
  '/usr/libexec/docker/cli-plugins/docker-compose',
];

/**
 * The compose v2 plugin (`docker compose`) when this machine has one, for test hosts that should have v2
 * (sshd.ts `docker.composeV2`); undefined when only v1 (`docker-compose`) is installed.
 * test/harness/install-compose-v2.sh installs it from Debian trixie's package.
 */
export function composeV2Plugin(): string | undefined {
  return composeV2Candidates.find((path) => existsSync(path));
}
const supervisorScript = fileURLToPath(new URL('./engineSupervisor.ts', import.meta.url));

/**
 * The process whose life bounds a run's engine: `ZAVHOZ_TEST_RUN_PID` when set (a script that runs test files
 * one by one), else node's test runner (the parent of a test file: it sets NODE_TEST_CONTEXT in its children),
 * else this process (a test file started without the runner).
 */
function runOwnerPid(): number {
  const fromEnvironment = Number(process.env.ZAVHOZ_TEST_RUN_PID);
  if (Number.isInteger(fromEnvironment) && fromEnvironment > 0) return fromEnvironment;
  return process.env.NODE_TEST_CONTEXT !== undefined ? process.ppid : process.pid;
}

function startTimeOf(pid: number): string {
  const start = processStartTime(pid);
  if (start === undefined) throw new Error(`process ${pid} that should own the test engine is not running`);
  return start;
}

/** Starts the supervisor, detached so that it outlives this test file; records its pid and start time. */
function spawnSupervisor(dir: string, watchPid: number, watchStart: string): void {
  const log = openSync(join(dir, 'supervisor.log'), 'w', 0o600);
  const environment = { ...process.env };
  // The supervisor is no test file: nothing of the runner's protocol must reach it.
  delete environment.NODE_TEST_CONTEXT;
  try {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), supervisorScript, dir, String(watchPid), watchStart], {
      detached: true,
      stdio: ['ignore', log, log],
      env: environment,
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start the test engine supervisor');
    writeFileSync(join(dir, 'supervisor'), `${pid} ${startTimeOf(pid)}\n`, { mode: 0o600 });
  } finally {
    closeSync(log);
  }
}

/** Waits for the supervisor's state.json; throws with its failure and logs when it failed or died. */
async function waitForState(dir: string): Promise<EngineState> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const statePath = join(dir, 'state.json');
    if (existsSync(statePath)) return JSON.parse(readFileSync(statePath, 'utf8')) as EngineState;
    const failedPath = join(dir, 'failed.txt');
    if (existsSync(failedPath)) {
      const reason = readFileSync(failedPath, 'utf8');
      throw new Error(`the test container engine did not start: ${reason}\n${tailOf(join(dir, 'supervisor.log'))}`);
    }
    const supervisor = existsSync(join(dir, 'supervisor')) ? readFileSync(join(dir, 'supervisor'), 'utf8').trim().split(' ') : [];
    const [pid, start] = supervisor;
    if (pid !== undefined && start !== undefined && !isProcessAlive(Number(pid), start) && !existsSync(statePath)) {
      throw new Error(`the test container engine's supervisor ended before the engine was ready:\n${tailOf(join(dir, 'supervisor.log'))}`);
    }
    await delay(50);
  }
  throw new Error(`the test container engine was not ready within ${startTimeoutMs} ms:\n${tailOf(join(dir, 'supervisor.log'))}`);
}

/** Waits until a process is gone (a zombie counts as gone: it has ended). */
async function waitUntilEnded(pid: number, start: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid, start)) {
    if (Date.now() > deadline) throw new Error(`the test engine's supervisor ${pid} did not stop within ${timeoutMs} ms`);
    await delay(50);
  }
}

/**
 * The test engine: the run's shared one (started by whichever test file asks first) or, with `scope: 'private'`,
 * one for this process alone. Call `release()` when the file is done (an exit hook does it otherwise).
 */
export async function startEngine(options: EngineOptions = {}): Promise<Engine> {
  const scope = options.scope ?? 'run';
  const parent = tmpdir();
  cleanUpAbandonedEngines(parent);

  const ownStart = startTimeOf(process.pid);
  // One registration per handle (a file may hold two): `PID-STARTTIME-RANDOM`, read by liveUsers().
  const userName = `${process.pid}-${ownStart}-${randomBytes(4).toString('hex')}`;
  let dir: string;
  if (scope === 'private') {
    dir = mkdtempSync(join(parent, 'zavhoz-engine-'));
    spawnSupervisor(dir, process.pid, ownStart);
  } else {
    const owner = runOwnerPid();
    const ownerStart = startTimeOf(owner);
    dir = join(parent, `zavhoz-engine-run-${owner}-${ownerStart}`);
    let first = true;
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      first = false;
    }
    // Registered before the engine is ready, so that the supervisor never sees a run with no user.
    mkdirSync(join(dir, 'users'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'users', userName), '', { mode: 0o600 });
    if (first) spawnSupervisor(dir, owner, ownerStart);
  }
  const userFile = join(dir, 'users', userName);
  const leave = (): void => rmSync(userFile, { force: true });
  const unregister = onProcessExit(leave);

  let state: EngineState;
  try {
    state = await waitForState(dir);
  } catch (error) {
    leave();
    unregister();
    if (scope === 'private') rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const dockerConfig = mkdtempSync(join(dir, 'client-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: state.dockerHost, DOCKER_CONFIG: dockerConfig };
  const docker = (args: readonly string[], runOptions: { input?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = execFile('docker', [...args], { env, timeout: runOptions.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`docker ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve({ stdout, stderr });
      });
      // A command that exits before reading its stdin (most do not read it) makes this write fail with EPIPE: that is
      // no failure of the command, whose outcome the callback above reports.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(runOptions.input ?? '');
    });
  let loggedIn: Promise<unknown> | undefined;
  let released = false;

  return {
    dir,
    dockerHost: state.dockerHost,
    registry: state.registry,
    env,
    pids: { supervisor: state.supervisorPid, dockerd: state.dockerdPid, containerd: state.containerdPid, registry: state.registryPid },
    addressPool: state.addressPool,
    timings: state.timings,
    docker,
    async powerCycle(): Promise<void> {
      if (scope !== 'private') throw new Error("only a private engine can be power-cycled: startEngine({ scope: 'private' })");
      const folder = join(dir, 'power-cycles');
      const ended = (): string[] => (existsSync(folder) ? readdirSync(folder).filter((name) => /^\d+\.(done|failed)$/.test(name)) : []);
      const number = ended().length + 1;
      process.kill(state.supervisorPid, 'SIGUSR2');
      const deadline = Date.now() + startTimeoutMs;
      while (Date.now() < deadline) {
        if (existsSync(join(folder, `${number}.done`))) return;
        if (existsSync(join(folder, `${number}.failed`))) {
          throw new Error(`the test engine did not come back: ${readFileSync(join(folder, `${number}.failed`), 'utf8')}\n${tailOf(join(dir, 'dockerd.log'))}`);
        }
        await delay(50);
      }
      throw new Error(`the test engine did not come back within ${startTimeoutMs} ms:\n${tailOf(join(dir, 'supervisor.log'))}`);
    },
    login(): Promise<void> {
      loggedIn ??= docker(['login', '--username', state.registry.username, '--password-stdin', state.registry.address], { input: state.registry.password });
      return loggedIn.then(() => undefined);
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      leave();
      unregister();
      if (scope !== 'private') return;
      const supervisorStart = processStartTime(state.supervisorPid);
      if (supervisorStart === undefined) return;
      process.kill(state.supervisorPid, 'SIGTERM');
      await waitUntilEnded(state.supervisorPid, supervisorStart, 60_000);
    },
  };
}
