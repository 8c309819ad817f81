/**
 * What the test engine's supervisor and its users share: the state file, who still uses the engine, whether a
 * process is still the one we knew, and the clean-up that leaves no process, mount or bridge of an engine behind.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { request } from 'node:http';
import { removeFolder, signalQuietly } from './processes.js';

/** How to reach the registry of a test engine; the password is a throwaway made for the run. */
export interface RegistryAccess {
  /** `127.0.0.1:PORT`: the prefix of every test image name. */
  address: string;
  username: string;
  password: string;
}

/** DIR/state.json, written by the supervisor once the engine and the registry answer. */
export interface EngineState {
  supervisorPid: number;
  dockerdPid: number;
  containerdPid: number;
  registryPid: number;
  /** `unix://DIR/docker.sock`: the value for DOCKER_HOST. */
  dockerHost: string;
  /** The 10.x.0.0/16 the engine's networks are cut from (no other engine of the machine uses it). */
  addressPool: string;
  registry: RegistryAccess;
  timings: { engineReadyMs: number; registryReadyMs: number };
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): a zombie has ended, only its parent has not collected it yet.
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** True while `pid` runs and is still the process that started at `startTime` (pids are reused). */
export function isProcessAlive(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

/** `PID-STARTTIME-RANDOM` names of the registrations in DIR/users whose test process still runs. */
export function liveUsers(engineDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(`${engineDir}/users`);
  } catch {
    return [];
  }
  return names.filter((name) => {
    const [pid, start] = name.split('-');
    return pid !== undefined && start !== undefined && isProcessAlive(Number(pid), start);
  });
}

/** True when the engine answers `GET /_ping` on its socket. */
export function engineAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = request({ socketPath, path: '/_ping', timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => resolve(false));
    probe.end();
  });
}

/** Mount points under `folder` (or `folder` itself), deepest first; /proc/mounts escapes spaces as \040. */
export function mountsUnder(folder: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === folder || point.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * The cgroup under which the engine in `engineDir` puts its containers (dockerd's `--cgroup-parent`): the default
 * `/docker` is every engine's, and a container's processes are found through their cgroup when their engine is gone.
 */
export function cgroupParentOf(engineDir: string): string {
  return `zavhoz-test-${basename(engineDir)}`;
}

const cgroupRoot = '/sys/fs/cgroup';

/** Folders of the engine's cgroup in every cgroup hierarchy that has one (cgroup v1 has one per controller). */
export function engineCgroups(engineDir: string): string[] {
  const parent = cgroupParentOf(engineDir);
  const roots = existsSync(join(cgroupRoot, 'cgroup.procs')) ? [cgroupRoot] : readdirSync(cgroupRoot).map((name) => join(cgroupRoot, name));
  return roots.map((root) => join(root, parent)).filter((folder) => existsSync(folder));
}

/** Removes a cgroup folder and the cgroups under it, deepest first (only empty cgroups can go: rmdir, not rm). */
function removeCgroup(folder: string): void {
  let entries: string[];
  try {
    entries = readdirSync(folder, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch {
    return;
  }
  for (const name of entries) removeCgroup(join(folder, name));
  try {
    rmdirSync(folder);
  } catch {
    // Still has a process (it is being killed): the next round tries again.
  }
}

/** `10.x.` of a `10.x.0.0/16` pool: what addresses and docker-proxy arguments of that engine start with. */
function poolPrefix(addressPool: string): string {
  return `${addressPool.split('.').slice(0, 2).join('.')}.`;
}

/**
 * Pids of the processes an engine in `engineDir` left: anything whose command line names the folder (dockerd,
 * containerd, its shims, the registry), the docker-proxy processes that publish into its address pool, and the
 * processes of its containers (found by their cgroup).
 */
export function engineProcesses(engineDir: string, addressPool: string | undefined): number[] {
  const found: number[] = [];
  const cgroup = `/${cgroupParentOf(engineDir)}/`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (processStartTime(Number(name)) === undefined) continue;
    const namesFolder = commandLine.includes(`${engineDir}/`) || commandLine.includes(`${engineDir} `);
    const proxiesPool = addressPool !== undefined && commandLine.includes('docker-proxy') && commandLine.includes(`-container-ip ${poolPrefix(addressPool)}`);
    let inCgroup = false;
    try {
      inCgroup = readFileSync(`/proc/${name}/cgroup`, 'utf8').includes(cgroup);
    } catch {
      // Ended meanwhile.
    }
    if (namesFolder || proxiesPool || inCgroup) found.push(Number(name));
  }
  return found;
}

/**
 * Ends whatever an engine left running, removes its cgroups, unmounts what it left mounted, deletes its bridges and
 * (unless kept) its folder.
 */
export function cleanUpEngineLeftovers(engineDir: string, addressPool: string | undefined, options: { keepFolder: boolean; spare?: readonly number[] }): void {
  for (let round = 0; round < 50; round += 1) {
    const left = engineProcesses(engineDir, addressPool).filter((pid) => !options.spare?.includes(pid));
    if (left.length === 0) break;
    for (const pid of left) signalQuietly(pid, 'SIGKILL');
    spawnSync('sleep', ['0.1']);
  }
  for (let round = 0; round < 20; round += 1) {
    const cgroups = engineCgroups(engineDir);
    if (cgroups.length === 0) break;
    for (const folder of cgroups) removeCgroup(folder);
    if (round > 0) spawnSync('sleep', ['0.1']);
  }
  for (let round = 0; round < 5; round += 1) {
    const mounts = mountsUnder(engineDir);
    if (mounts.length === 0) break;
    for (const point of mounts) spawnSync('umount', ['-l', point]);
  }
  if (addressPool !== undefined) {
    const prefix = poolPrefix(addressPool);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- spawnSync's stdout is null when the program could not be started
    const addresses = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '';
    for (const line of addresses.split('\n')) {
      const [, device, , address] = line.split(/\s+/);
      // Only the bridges docker names for its networks (br-<id>): never an interface of the machine's own.
      const name = device?.split('@')[0];
      if (name !== undefined && /^br-[0-9a-f]{12}$/.test(name) && address?.startsWith(prefix)) spawnSync('ip', ['link', 'delete', name]);
    }
  }
  removeShimSockets(engineDir);
  if (!options.keepFolder) removeFolder(engineDir);
}

/**
 * A containerd shim keeps its socket in /run/containerd/s/ whatever containerd's own folders are, named by a hash
 * of containerd's address, the namespace and the container id; a killed shim leaves it there. Removes those of
 * the engine's containers (listed in its data root), read before the folder goes.
 */
function removeShimSockets(engineDir: string): void {
  let containers: string[];
  try {
    containers = readdirSync(join(engineDir, 'root', 'containers'));
  } catch {
    return;
  }
  for (const id of containers) rmSync(shimSocketOf(engineDir, id), { force: true });
}

/** Where the containerd shim of the engine's container `id` (full id) keeps its socket. */
export function shimSocketOf(engineDir: string, id: string): string {
  const containerdAddress = join(engineDir, 'exec', 'containerd', 'containerd.sock');
  return join('/run/containerd/s', createHash('sha256').update(join(containerdAddress, 'moby', id)).digest('hex'));
}

/** Folders of engines whose supervisor is gone (killed with -9, machine-wide): cleaned before a new engine starts. */
export function cleanUpAbandonedEngines(parent: string): void {
  for (const name of readdirSync(parent)) {
    if (!name.startsWith('zavhoz-engine-')) continue;
    const folder = `${parent}/${name}`;
    let supervisor: string[];
    try {
      supervisor = readFileSync(`${folder}/supervisor`, 'utf8').trim().split(' ');
    } catch {
      // Not written yet (an engine being created right now) or not ours: leave it.
      continue;
    }
    const [pid, start] = supervisor;
    if (pid === undefined || start === undefined || isProcessAlive(Number(pid), start)) continue;
    let addressPool: string | undefined;
    try {
      addressPool = (JSON.parse(readFileSync(`${folder}/state.json`, 'utf8')) as EngineState).addressPool;
    } catch {
      addressPool = undefined;
    }
    cleanUpEngineLeftovers(folder, addressPool, { keepFolder: false });
  }
}
