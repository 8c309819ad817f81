/**
 * One end-to-end session: a throwaway keychain, the packaged extension installed into a private code-server, a
 * workspace folder, a throwaway Zavhoz data folder for the daemon the extension starts, and a headless Chromium
 * showing the workbench. `stop()` ends everything in order; `dispose()` then removes the folders.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import { runCli, type CliResult } from '../harness/daemon.js';
import { startKeyring, type KeyringSession } from '../harness/keyring.js';
import { delay, descendants, removeFolder, signalQuietly, tailOf } from '../harness/processes.js';
import {
  assertToolsInstalled,
  installExtension,
  packageExtension,
  packageTestExtension,
  prepareFolders,
  startCodeServer,
  codeServerFolders,
  type CodeServer,
  type CodeServerFolders,
} from './codeServer.js';
import { RESULTS_FOLDER, Workbench } from './workbench.js';

/** What the workspace holds. */
export interface SessionOptions {
  /** Folder name; the extension derives the default project name from it. */
  readonly workspaceName: string;
  /** Fills the (empty) workspace folder before VS Code opens it. */
  readonly prepareWorkspace?: (folder: string) => void;
  /** Fills the (empty) Zavhoz data folder before code-server starts, so the extension's daemon opens on that data. */
  readonly prepareHome?: (folder: string) => Promise<void> | void;
  /** Test-only extension folders to package and install beside Zavhoz (e.g. the language-model tools probe). */
  readonly testExtensions?: readonly { readonly folder: string; readonly installedPrefix: string }[];
}

/** A running end-to-end session. */
export interface E2eSession {
  readonly workbench: Workbench;
  readonly codeServer: CodeServer;
  readonly keyring: KeyringSession;
  /** The Zavhoz data folder the extension's daemon uses (ZAVHOZ_HOME). */
  readonly zavhozHome: string;
  /** The folder open in the workbench. */
  readonly workspace: string;
  /** Milliseconds each start-up phase took, for the report. */
  readonly timings: Readonly<Record<string, number>>;
  /** The environment of the session's processes (keychain D-Bus address, ZAVHOZ_HOME): what a CLI or `zavhoz mcp` started beside VS Code gets. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the `zavhoz` CLI against the extension's daemon; `input` goes to stdin. */
  cli(args: readonly string[], input?: string): Promise<CliResult>;
  /** Pid of the daemon the extension started, from its lock file; undefined while none runs. */
  daemonPid(): number | undefined;
  /** Files of the session (code-server profile and logs, Zavhoz data, workspace, browser profile) containing `needle`. */
  filesContaining(needle: string): string[];
  /** Ends the browser, code-server with its extension host, the daemon and the keychain. Idempotent. */
  stop(): Promise<void>;
  /** Copies code-server's logs (extension host, output channels), the daemon's log and run logs to test-results/<name>/. */
  saveLogs(name: string): string;
  /** `stop()`, then removes every folder of the session. */
  dispose(): Promise<void>;
  /**
   * The last lines of the extension's Zavhoz log, the extension host's log and the daemon's log: put into a failed
   * step's error, so a CI run that keeps no files still says what the workbench and the daemon were doing.
   */
  failureReport(): string;
}

/**
 * `test()` for the steps of an end-to-end suite: a failed step saves test-results/<prefix><slug>.png (the screen the
 * user would have seen) and carries the session's logs in its error.
 */
export function sessionSteps(session: () => E2eSession | undefined, prefix: string): (name: string, body: () => Promise<void>) => void {
  return (name, body) => {
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        const current = session();
        const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 60);
        await current?.workbench.screenshot(`${prefix}${slug}`).catch(() => undefined);
        if (current && error instanceof Error) error.message += `\n${current.failureReport()}`;
        throw error;
      }
    });
  };
}

/** Files under `folder` (recursively) whose name matches `pattern`. */
function filesNamed(folder: string, pattern: RegExp): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true })
    .map((name) => path.join(folder, String(name)))
    .filter((file) => pattern.test(path.basename(file)) && statSync(file).isFile());
}

/** Reads the pid from the daemon's lock file in `home`. */
function readDaemonPid(home: string): number | undefined {
  try {
    const owner = JSON.parse(readFileSync(dataPaths(home).lock, 'utf8')) as { pid?: unknown };
    return typeof owner.pid === 'number' ? owner.pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` runs (a zombie has ended: after code-server's exit nobody but init will reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Daemons serving `home`: the pid in its lock file, and any process running a daemon.cjs with that ZAVHOZ_HOME
 * (a daemon whose lock file is gone, e.g. one that lost a start-up race, must not outlive the test either).
 */
function daemonPids(home: string): number[] {
  const pids = new Set<number>();
  const locked = readDaemonPid(home);
  if (locked !== undefined) pids.add(locked);
  const marker = `ZAVHOZ_HOME=${home}\0`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('daemon.cjs') && readFileSync(`/proc/${name}/environ`, 'utf8').includes(marker)) {
        pids.add(Number(name));
      }
    } catch {
      // Ended while listing, or not ours to read.
    }
  }
  return [...pids].filter(running);
}

/**
 * Ends the daemon the extension started. It runs detached (its own session, outliving VS Code by design), so
 * killing code-server's group leaves it: SIGTERM it and its children, SIGKILL after a grace period.
 */
export async function stopDaemon(home: string): Promise<void> {
  const family = daemonPids(home).flatMap((pid) => [...descendants(pid), pid]);
  for (const member of family) signalQuietly(member, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (family.some(running) && Date.now() < deadline) await delay(100);
  for (const member of family.filter(running)) signalQuietly(member, 'SIGKILL');
}

/** Every regular file below `folder` whose bytes contain `needle`. */
function searchFiles(folder: string, needle: Buffer, found: string[]): void {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    const full = path.join(folder, name);
    let stats;
    try {
      stats = statSync(full, { throwIfNoEntry: false });
    } catch {
      continue;
    }
    if (stats === undefined) continue;
    if (stats.isDirectory()) searchFiles(full, needle, found);
    else if (stats.isFile() && stats.size < 64 * 1024 * 1024 && readFileSync(full).includes(needle)) found.push(full);
  }
}

/**
 * Starts a session: packages the extension, installs it into a private code-server, starts a keychain and the
 * server with ZAVHOZ_HOME and the keychain's D-Bus address in its environment (so the extension host and the
 * daemon it spawns inherit them), and opens the workbench in Chromium.
 */
export async function startSession(options: SessionOptions): Promise<E2eSession> {
  assertToolsInstalled();
  const timings: Record<string, number> = {};
  const time = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await step();
    } finally {
      timings[name] = Date.now() - started;
    }
  };

  const root = mkdtempSync(path.join(tmpdir(), 'zavhoz-e2e-'));
  // About as long as a user's own data folder (/home/<user>/.local/share/zavhoz is 31+ characters), so paths the
  // daemon derives from it (run folders, ssh ControlPath sockets limited to 107 bytes) are tested at real length.
  const zavhozHome = path.join(root, 'zavhoz-home');
  const workspace = path.join(root, options.workspaceName);
  const folders: CodeServerFolders = codeServerFolders(path.join(root, 'code-server'));

  let keyring: KeyringSession | undefined;
  let codeServer: CodeServer | undefined;
  let workbench: Workbench | undefined;
  let env: NodeJS.ProcessEnv = {};
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await workbench?.close().catch(() => undefined);
    // code-server first: an extension host still alive would start a new daemon when this one goes.
    await codeServer?.stop();
    await stopDaemon(zavhozHome);
    await keyring?.stop();
  };

  try {
    mkdirSync(zavhozHome, { mode: 0o700 });
    mkdirSync(workspace);
    options.prepareWorkspace?.(workspace);
    await options.prepareHome?.(zavhozHome);
    prepareFolders(folders);
    const vsix = await time('package', () => packageExtension(root));
    keyring = await time('keyring', () => startKeyring());
    env = { ...keyring.env, ZAVHOZ_HOME: zavhozHome };
    await time('install', async () => {
      await installExtension(folders, vsix, env);
      for (const extra of options.testExtensions ?? []) {
        await installExtension(folders, await packageTestExtension(extra.folder, root), env, extra.installedPrefix);
      }
    });
    codeServer = await time('codeServer', () => startCodeServer(folders, workspace, env));
    const server = codeServer;
    workbench = await time('workbench', () => Workbench.open(server.url, path.join(root, 'chromium-profile')));
  } catch (error) {
    await stop();
    removeFolder(root);
    throw error;
  }

  const opened = workbench;
  const started = codeServer;
  const session: E2eSession = {
    workbench: opened,
    codeServer: started,
    keyring,
    zavhozHome,
    workspace,
    timings,
    env,
    cli: (args, input) => runCli(args, env, input),
    daemonPid: () => {
      const pid = readDaemonPid(zavhozHome);
      return pid !== undefined && running(pid) ? pid : undefined;
    },
    filesContaining(needle: string): string[] {
      const found: string[] = [];
      // The whole session folder: code-server's profile and logs, the daemon's data, the workspace and the
      // browser profile (where the web workbench keeps its storage, webview state included).
      searchFiles(root, Buffer.from(needle, 'utf8'), found);
      return found;
    },
    stop,
    saveLogs(name: string): string {
      const target = path.join(RESULTS_FOLDER, name);
      removeFolder(target);
      mkdirSync(target, { recursive: true });
      const codeServerLogs = path.join(folders.userData, 'logs');
      if (existsSync(codeServerLogs)) cpSync(codeServerLogs, path.join(target, 'code-server'), { recursive: true });
      if (existsSync(folders.logFile)) cpSync(folders.logFile, path.join(target, 'code-server.log'));
      const daemonLog = dataPaths(zavhozHome).log;
      if (existsSync(daemonLog)) cpSync(daemonLog, path.join(target, 'daemon.log'));
      // Each deploy run's log (what "Show Deploy Log" shows); the rest of a run folder may hold secret files.
      const runs = dataPaths(zavhozHome).runs;
      for (const run of existsSync(runs) ? readdirSync(runs) : []) {
        const runLog = path.join(runs, run, 'run.log');
        if (existsSync(runLog)) cpSync(runLog, path.join(target, `${run}.log`));
      }
      return target;
    },
    failureReport(): string {
      const logs = [
        ...filesNamed(path.join(folders.userData, 'logs'), /Zavhoz.*\.log$|^exthost\.log$/),
        dataPaths(zavhozHome).log,
      ];
      return logs
        .map((file) => `--- ${path.relative(root, file)} (last lines) ---\n${tailOf(file, 2_500).trimEnd()}`)
        .join('\n');
    },
    async dispose(): Promise<void> {
      await stop();
      removeFolder(root);
    },
  };
  return session;
}
