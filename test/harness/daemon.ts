import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DaemonClient } from '../../daemon/client/client.js';
import { spawnDaemon } from '../../daemon/client/spawn.js';
import { isDaemonAlive, readOwner } from '../../daemon/core/lock.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { onProcessExit } from './processes.js';

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '../..');
/** The built daemon and CLI (tests run against the real bundles: `node scripts/build.mjs` first). */
export const DAEMON_SCRIPT = path.join(ROOT, 'dist/daemon.cjs');
export const CLI_SCRIPT = path.join(ROOT, 'dist/cli.cjs');

/** What a CLI run produced. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A real daemon process in a throwaway data folder. */
export interface TestDaemon {
  readonly home: string;
  /** Environment for anything that should talk to this daemon (ZAVHOZ_HOME, keychain bus…). */
  readonly env: NodeJS.ProcessEnv;
  /** The daemon's pid (read from its lock file). */
  pid(): number;
  /** Connects a new client. */
  connect(clientName?: string): Promise<DaemonClient>;
  /** Runs `zavhoz …` against this daemon; `input` is piped to stdin. */
  cli(args: readonly string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Starts the daemon again (after stop or kill). */
  start(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the process to disappear. */
  kill9(): Promise<void>;
  /** Stops the daemon and removes the folder. */
  dispose(): Promise<void>;
}

/** Options for {@link startTestDaemon}. */
export interface TestDaemonOptions {
  /** Extra environment for the daemon process (e.g. the keychain session's `env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Use this folder instead of a new one. */
  readonly home?: string;
}

/** Starts a real daemon process (`dist/daemon.cjs`) in a fresh private data folder. */
export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  if (!fs.existsSync(DAEMON_SCRIPT)) throw new Error('dist/daemon.cjs is missing: run `node scripts/build.mjs` first.');
  const home = options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-test-'));
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, ZAVHOZ_HOME: home };
  const paths = dataPaths(home);

  const readPid = (): number => {
    const owner = JSON.parse(fs.readFileSync(paths.lock, 'utf8')) as { pid: number };
    return owner.pid;
  };
  /**
   * The pid of the daemon that holds the folder's lock, if it still runs. A lock a killed daemon left names a pid the
   * system may have given since to another test file's process (a gnome-keyring, say: pids wrap at 32768 here, and a
   * run starts tens of thousands of processes), which a signal must never reach: checked as the daemon checks a lock.
   */
  const livePid = (): number | undefined => {
    const owner = readOwner(paths.lock);
    return owner !== undefined && isDaemonAlive(owner) ? owner.pid : undefined;
  };
  const start = async (): Promise<void> => {
    // 60 s, not the 15 s a user waits: two test files start daemons, keychains and sshds at once on 2 cores.
    await spawnDaemon({ folder: home, daemonScript: DAEMON_SCRIPT, env, timeoutMs: 60_000 });
  };
  const waitForExit = async (pid: number): Promise<void> => {
    for (let waited = 0; waited < 20_000; waited += 25) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`daemon pid ${pid} did not exit`);
  };
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    const pid = livePid();
    if (pid === undefined) return; // not running
    try {
      process.kill(pid, name);
    } catch {
      return;
    }
    await waitForExit(pid);
  };

  await start();
  // A test file that ends without its after() hooks (a timeout, an uncaught error) must not leave a daemon behind:
  // it would keep a keychain session and an sshd master alive on a CI machine. SIGTERM is what `stop` sends.
  const unregister = onProcessExit(() => {
    try {
      const pid = livePid();
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
    } catch {
      // Not running, or its lock is gone already.
    }
  });
  return {
    home,
    env,
    pid: readPid,
    connect: (clientName = 'test') => DaemonClient.connect({ folder: home, clientName }),
    cli: (args, cliOptions = {}) => runCli(args, { ...env, ...cliOptions.env }, cliOptions.input),
    start,
    stop: () => signal('SIGTERM'),
    kill9: () => signal('SIGKILL'),
    async dispose() {
      unregister();
      await signal('SIGTERM');
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Runs the built CLI with an argument array and optional stdin. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_SCRIPT, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/**
 * Runs `zavhoz …` against a test daemon (`input` piped to stdin) and fails the test unless it exits 0: its
 * standard output. The one helper for a CLI step that must succeed.
 */
export async function cliOk(daemon: Pick<TestDaemon, 'cli'>, args: readonly string[], input?: string): Promise<string> {
  const result = await daemon.cli(args, input === undefined ? {} : { input });
  assert.equal(result.code, 0, `zavhoz ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** {@link cliOk} with `--json` added: the parsed answer. */
export async function cliJson<T>(daemon: Pick<TestDaemon, 'cli'>, args: readonly string[], input?: string): Promise<T> {
  return JSON.parse(await cliOk(daemon, [...args, '--json'], input)) as T;
}
