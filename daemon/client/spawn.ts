import { spawn } from 'node:child_process';
import { withMallocTunables } from '../core/mallocTunables.js';
import { EXIT_ALREADY_RUNNING, READY_LINE } from '../core/startup.js';
import { EXEC_VALUES_VARIABLE, execValueNames } from '../protocol/exec.js';

/** How to start a daemon process. */
export interface SpawnDaemonOptions {
  /** The data folder (becomes `ZAVHOZ_HOME` of the daemon). */
  readonly folder: string;
  /** Path of the bundled daemon script (`dist/daemon.cjs`). */
  readonly daemonScript: string;
  /** Runtime to use: Node, or VS Code's own (`process.execPath` with ELECTRON_RUN_AS_NODE=1). */
  readonly execPath?: string;
  /** Extra environment (e.g. ELECTRON_RUN_AS_NODE, D-Bus address of the keychain). */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** Raised when the daemon could not start; the message is the daemon's own explanation. */
export class DaemonStartError extends Error {
  /** The process's exit code, when it exited before it was ready. */
  constructor(message: string, readonly exitCode?: number) {
    super(message);
  }
}

/** How a start ended: this daemon is ready, or another one already owned the folder. */
export type SpawnOutcome = 'started' | 'already-running';

/**
 * Node's exit code for an option it does not accept ("Invalid Argument"; `node --no-such-flag` exits 9), which
 * Electron run as Node uses too, for the Node options it refuses as much as for those Node rejects. A runtime exits
 * with it before it runs a line of the script, so the daemon never does.
 */
const EXIT_INVALID_OPTION = 9;

/**
 * Starts a detached daemon and waits until it says it is ready. If another daemon won the race for the folder,
 * that is success too: the caller connects to whichever one is running (but see `already-running`: that one may
 * be on its way out).
 *
 * The daemon's V8 options only tune it, so a runtime that refuses one (some VS Code's Electron, say, whose V8 or
 * option filter we do not control) gets a second start without them, rather than leaving the user with no daemon.
 */
export async function spawnDaemon(options: SpawnDaemonOptions): Promise<SpawnOutcome> {
  try {
    return await startDaemonProcess(options, daemonArguments(options.daemonScript));
  } catch (error) {
    if (!(error instanceof DaemonStartError && error.exitCode === EXIT_INVALID_OPTION)) throw error;
    return startDaemonProcess(options, [options.daemonScript]);
  }
}

/**
 * The caller's environment without the variables `zavhoz exec` filled with vault values (when the caller runs inside
 * such a command): the daemon would keep them for its life and pass them on to the commands it runs for agents.
 */
function withoutExecValues(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dropped = new Set([...execValueNames(env), EXEC_VALUES_VARIABLE]);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !dropped.has(name)));
}

/** One start of the daemon process with these runtime arguments. */
function startDaemonProcess(options: SpawnDaemonOptions, args: readonly string[]): Promise<SpawnOutcome> {
  const child = spawn(options.execPath ?? process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: withMallocTunables({ ...withoutExecValues(process.env), ...options.env, ZAVHOZ_HOME: options.folder }),
    windowsHide: true,
  });
  let stdout = '';
  let stderr = '';
  return new Promise<SpawnOutcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish();
      reject(new DaemonStartError(`The Zavhoz daemon did not become ready within ${(options.timeoutMs ?? 15_000) / 1000} s.`));
    }, options.timeoutMs ?? 15_000);
    const finish = (): void => {
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      child.removeAllListeners();
      child.unref();
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes(READY_LINE)) {
        finish();
        resolve('started');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.once('error', (error) => {
      finish();
      reject(new DaemonStartError(`Could not start the Zavhoz daemon: ${error.message}`));
    });
    child.once('exit', (code) => {
      finish();
      if (code === EXIT_ALREADY_RUNNING) resolve('already-running');
      else reject(new DaemonStartError(stderr.trim() || `The Zavhoz daemon exited with code ${code} while starting.`, code ?? undefined));
    });
  });
}

/**
 * V8's young generation capped at 4 MiB per semi-space (the default grows to 16 MiB each, 32 MiB in all). A daemon
 * that loads 10,000 servers at start grew it to the full 32 MiB for the allocations of that one moment, and kept the
 * memory: 120 MiB resident against 67 MiB for an empty one, where 97 MiB with the cap (`npm run bench -- inventory`).
 * Its requests are small, so more frequent young collections cost it nothing measurable. `--expose-gc`: the daemon
 * runs one full collection once the start's work is over (core/startGarbage.ts), which V8 would otherwise leave for
 * much later.
 */
const DAEMON_V8_OPTIONS = ['--max-semi-space-size=4', '--expose-gc'];

/** The runtime's arguments for a daemon: its V8 options, then the script. */
export function daemonArguments(daemonScript: string): string[] {
  return [...DAEMON_V8_OPTIONS, daemonScript];
}
