/**
 * The process that owns a test run's container engine and registry (started by engine.ts, never imported).
 *
 * Why a process of its own: node's test runner runs every test file in a process of its own, and a file may die
 * (a timeout, a crash, `kill -9`) without running any cleanup. This process outlives the files, and stops dockerd,
 * its containerd and the registry (by their PIDs) once the process it watches (the test runner, or the one test
 * file that asked for a private engine) is gone and no test file still uses the engine. It then removes every
 * process, cgroup, mount, bridge and folder the engine left, so nothing survives the run.
 *
 * Usage: node --import tsx engineSupervisor.ts DIR WATCH_PID WATCH_START_TIME
 * It writes DIR/state.json once the engine and the registry answer, or DIR/failed.txt when they cannot start.
 *
 * SIGUSR2 cuts the engine's power and brings it back, as a reboot of its machine does (engine.ts `powerCycle`, for a
 * private engine only): every process of the engine (dockerd, containerd, shims, containers, docker-proxy) is killed
 * with SIGKILL, its mounts, cgroups and bridges go and its exec root (what a machine keeps in /run) is emptied; then
 * containerd and dockerd start again on the same data root, and dockerd restarts the containers whose restart policy
 * says so. The registry stands for another machine and keeps running. DIR/power-cycles/N.done (or N.failed with why)
 * says that cycle N ended.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { delay, hasExited, tailOf, waitForExit } from './processes.js';
import {
  cgroupParentOf,
  cleanUpEngineLeftovers,
  engineAnswers,
  isProcessAlive,
  liveUsers,
  type EngineState,
} from './engineState.js';
import { startRegistry, type RegistryProcess } from './registry.js';

const [dir, watchPidText, watchStartText] = process.argv.slice(2);
if (dir === undefined || watchPidText === undefined || watchStartText === undefined) {
  throw new Error('usage: engineSupervisor.ts DIR WATCH_PID WATCH_START_TIME');
}
const watchPid = Number(watchPidText);
const watchStart = watchStartText;
const engineDir: string = dir;

const readyTimeoutMs = 90_000;
const socketPath = join(engineDir, 'docker.sock');
const containerdSocket = join(engineDir, 'exec/containerd/containerd.sock');

/** Second octets of 10.x.0.0/16 blocks that an address or route of this machine touches (a 10.128.0.0/9 touches 128). */
function usedTenBlocks(): Set<number> {
  // Addresses and routes both: a VPN or a cloud network may route a 10.x range that no local interface carries.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- spawnSync's stdout is null when the program could not be started
  const text = ['addr', 'route'].map((what) => spawnSync('ip', ['-o', '-4', what, 'show'], { encoding: 'utf8' }).stdout ?? '').join('\n');
  const used = new Set<number>();
  for (const match of text.matchAll(/(?:^|[\s])10\.(\d{1,3})\.\d{1,3}\.\d{1,3}(?:\/(\d{1,2}))?/gm)) {
    const second = Number(match[1]);
    const prefix = match[2] === undefined ? 32 : Number(match[2]);
    const span = prefix >= 16 ? 1 : 2 ** (16 - Math.max(prefix, 8));
    const first = second - (second % span);
    for (let block = first; block < first + span; block += 1) used.add(block);
  }
  return used;
}

/** A /16 of 10.0.0.0/8 that no address or route of this machine uses yet: the engine's networks are cut from it. */
function freeAddressPool(): string {
  const used = usedTenBlocks();
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const second = 64 + ((randomBytes(1)[0] ?? 0) % 128);
    if (!used.has(second)) return `10.${second}.0.0/16`;
  }
  throw new Error('no free 10.x.0.0/16 for the test engine: addresses or routes of this machine cover 10.64.0.0/9');
}

/** Fails with what to install when a program the engine needs is missing (a spawn would only say ENOENT). */
function requireCommands(): void {
  const folders = (process.env['PATH'] ?? '').split(':').filter((folder) => folder !== '');
  const missing = ['containerd', 'dockerd', 'docker', 'docker-registry', 'htpasswd'].filter(
    (command) => !folders.some((folder) => existsSync(join(folder, command))),
  );
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not found: install docker.io docker-registry apache2-utils (README.md, set-up), then run the tests again`);
  }
}

/** Creates the engine's folders: data root and exec root, each 0700 like the folder that holds them. */
function makeFolders(): void {
  for (const folder of ['root', 'exec', 'root/containerd', 'exec/containerd']) mkdirSync(join(engineDir, folder), { mode: 0o700 });
}

/**
 * Starts a containerd of the engine's own. dockerd would otherwise use the system's containerd whenever one runs
 * (/run/containerd/containerd.sock, e.g. on a machine where the docker.io package started its services), which
 * would put the test containers' state outside the engine's folder and next to the machine's own containers.
 */
function startContainerd(): ChildProcess {
  const configPath = join(engineDir, 'containerd.toml');
  writeFileSync(configPath, [
    'version = 2',
    `root = "${join(engineDir, 'root/containerd')}"`,
    `state = "${join(engineDir, 'exec/containerd')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${containerdSocket}"`,
    '[debug]',
    '  level = "warn"',
    // Where containerd installs plugin binaries: /opt/containerd by default, i.e. outside the engine's folder.
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${join(engineDir, 'root/containerd/opt')}"`,
    '',
  ].join('\n'), { mode: 0o600 });
  const log = openSync(join(engineDir, 'containerd.log'), 'w', 0o600);
  try {
    return spawn('containerd', ['--config', configPath], { stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
}

/** True when something accepts connections on a unix socket. */
function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once containerd listens; throws with its log when it exits or takes too long. */
async function waitForContainerd(containerd: ChildProcess): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(containerd)) {
      throw new Error(`containerd exited with ${String(containerd.exitCode ?? containerd.signalCode)}:\n${tailOf(join(engineDir, 'containerd.log'))}`);
    }
    if (await socketAccepts(containerdSocket)) return;
    await delay(50);
  }
  throw new Error(`containerd did not listen within ${readyTimeoutMs} ms:\n${tailOf(join(engineDir, 'containerd.log'))}`);
}

/** Starts dockerd as our child: its own data root, exec root, socket, pid file and config, no host firewall changes. */
function startDockerd(addressPool: string): ChildProcess {
  // An empty config file, so a developer's /etc/docker/daemon.json does not change what the tests see.
  writeFileSync(join(engineDir, 'daemon.json'), '{}\n', { mode: 0o600 });
  const log = openSync(join(engineDir, 'dockerd.log'), 'w', 0o600);
  try {
    return spawn('dockerd', [
      '--config-file', join(engineDir, 'daemon.json'),
      '--data-root', join(engineDir, 'root'),
      '--exec-root', join(engineDir, 'exec'),
      '--pidfile', join(engineDir, 'dockerd.pid'),
      '--host', `unix://${socketPath}`,
      '--containerd', containerdSocket,
      // The machine's firewall and forwarding stay untouched; published ports go through docker-proxy.
      '--iptables=false', '--ip-forward=false', '--ip-masq=false',
      // No docker0: a second engine on the machine (another run) would fight over it. Compose makes its own networks.
      '--bridge=none',
      '--default-address-pool', `base=${addressPool},size=24`,
      // Containers in a cgroup of this engine's own, so that their processes can be found if the engine dies. The
      // cgroupfs driver, always: on a systemd host with cgroup v2 (a stock Debian 12) dockerd would pick the systemd
      // driver, which refuses any cgroup parent not named `*.slice`.
      '--exec-opt', 'native.cgroupdriver=cgroupfs',
      `--cgroup-parent=/${cgroupParentOf(engineDir)}`,
      // busybox servers that ignore SIGTERM must not hold the stop for docker's default 15 s.
      '--shutdown-timeout=3',
      '--log-level=warn',
    ], { stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
}

/** Resolves once the engine answers on its socket; throws with its log when it exits or takes too long. */
async function waitForEngine(dockerd: ChildProcess): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(dockerd)) {
      throw new Error(`dockerd exited with ${String(dockerd.exitCode ?? dockerd.signalCode)}:\n${tailOf(join(engineDir, 'dockerd.log'))}`);
    }
    if (await engineAnswers(socketPath)) return;
    await delay(50);
  }
  throw new Error(`dockerd did not answer within ${readyTimeoutMs} ms:\n${tailOf(join(engineDir, 'dockerd.log'))}`);
}

/** Writes a file whole or not at all (readers poll for it). */
function writeAtomically(name: string, text: string): void {
  const temporary = join(engineDir, `.${name}.tmp`);
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, join(engineDir, name));
}

let containerd: ChildProcess | undefined;
let dockerd: ChildProcess | undefined;
let registry: RegistryProcess | undefined;
let addressPool: string | undefined;
let stopping: Promise<void> | undefined;

/** Ends containers, the registry and the engine, then everything they left behind; removes the folder unless `keep`. */
function shutDown(keep: boolean): Promise<void> {
  stopping ??= (async () => {
    if (dockerd !== undefined && !hasExited(dockerd) && existsSync(socketPath)) {
      // Containers first (dockerd would too, but removing them also lets the networks and their bridges go).
      const docker = (args: string[]): string =>
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- spawnSync's stdout is null when the program could not be started
        spawnSync('docker', args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` } }).stdout ?? '';
      const containers = docker(['ps', '-aq']).split('\n').filter((id) => id !== '');
      if (containers.length > 0) docker(['rm', '-f', '-v', ...containers]);
      docker(['network', 'prune', '-f']);
    }
    if (registry !== undefined) await registry.stop();
    if (dockerd !== undefined && !hasExited(dockerd)) {
      dockerd.kill('SIGTERM');
      if (!(await waitForExit(dockerd, 20_000))) dockerd.kill('SIGKILL');
      await waitForExit(dockerd, 5_000);
    }
    if (containerd !== undefined && !hasExited(containerd)) {
      containerd.kill('SIGTERM');
      if (!(await waitForExit(containerd, 10_000))) containerd.kill('SIGKILL');
      await waitForExit(containerd, 5_000);
    }
    // containerd, its shims and docker-proxy when dockerd could not end them; mounts; bridges of the address pool.
    cleanUpEngineLeftovers(engineDir, addressPool, { keepFolder: keep });
  })();
  return stopping;
}

let cycling: Promise<void> | undefined;

/** Cuts the engine's power and starts it again (see the file's comment); writes power-cycles/N.done or N.failed. */
async function powerCycle(): Promise<void> {
  const folder = join(engineDir, 'power-cycles');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const number = readdirSync(folder).filter((name) => /^\d+\.(done|failed)$/.test(name)).length + 1;
  const report = (ending: 'done' | 'failed', text: string): void => {
    const temporary = join(folder, `.${number}.tmp`);
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, join(folder, `${number}.${ending}`));
  };
  try {
    if (addressPool === undefined || dockerd === undefined || containerd === undefined) throw new Error('the engine has not started');
    cleanUpEngineLeftovers(engineDir, addressPool, { keepFolder: true, spare: registry === undefined ? [] : [registry.pid] });
    await waitForExit(dockerd, 10_000);
    await waitForExit(containerd, 10_000);
    rmSync(join(engineDir, 'exec'), { recursive: true, force: true });
    mkdirSync(join(engineDir, 'exec/containerd'), { recursive: true, mode: 0o700 });
    containerd = startContainerd();
    await waitForContainerd(containerd);
    dockerd = startDockerd(addressPool);
    await waitForEngine(dockerd);
    report('done', `${JSON.stringify({ dockerdPid: dockerd.pid ?? 0, containerdPid: containerd.pid ?? 0 })}\n`);
  } catch (error) {
    report('failed', error instanceof Error ? error.message : String(error));
  }
}

async function main(): Promise<void> {
  process.on('SIGUSR2', () => {
    cycling ??= powerCycle().finally(() => {
      cycling = undefined;
    });
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      void shutDown(false).finally(() => process.exit(0));
    });
  }
  mkdirSync(join(engineDir, 'users'), { recursive: true, mode: 0o700 });
  const started = Date.now();
  try {
    requireCommands();
    addressPool = freeAddressPool();
    makeFolders();
    containerd = startContainerd();
    await waitForContainerd(containerd);
    dockerd = startDockerd(addressPool);
    await waitForEngine(dockerd);
    const engineReadyMs = Date.now() - started;
    registry = await startRegistry(join(engineDir, 'registry'));
    const state: EngineState = {
      supervisorPid: process.pid,
      dockerdPid: dockerd.pid ?? 0,
      containerdPid: containerd.pid ?? 0,
      registryPid: registry.pid,
      dockerHost: `unix://${socketPath}`,
      addressPool,
      registry: registry.access,
      timings: { engineReadyMs, registryReadyMs: Date.now() - started - engineReadyMs },
    };
    writeAtomically('state.json', `${JSON.stringify(state, null, 2)}\n`);
  } catch (error) {
    await shutDown(true);
    writeAtomically('failed.txt', error instanceof Error ? error.message : String(error));
    process.exit(1);
  }

  // Stop once the watched process is gone and no test file uses the engine any more; or when dockerd dies.
  for (;;) {
    await delay(250);
    // During a power cycle dockerd and containerd are down on purpose.
    if (cycling !== undefined) await cycling;
    if (hasExited(dockerd) || hasExited(containerd)) break;
    if (isProcessAlive(watchPid, watchStart)) continue;
    if (liveUsers(engineDir).length === 0) break;
  }
  await shutDown(false);
  process.exit(0);
}

void main();
