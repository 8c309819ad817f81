import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { RUN_FILES, type RunFolder } from './runFolder.js';

/** ansible-playbook's exit codes that the run tells apart. */
export const ANSIBLE_EXIT = { ok: 0, failed: 2, unreachable: 4 } as const;

/** How long a killed playbook gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** How one ansible-playbook process ended. */
export interface PlaybookExit {
  /** Exit code, or null when it died by a signal (we killed it). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started ansible-playbook process. */
export interface PlaybookProcess {
  readonly pid: number;
  readonly exited: Promise<PlaybookExit>;
}

/**
 * The environment of every child the run starts: PATH, HOME and locale, Ansible pointed at the run's own config,
 * and the run and request ids (for the server's logs). Nothing from the daemon's own environment beyond that,
 * and never a secret.
 */
export function childEnvironment(folder: RunFolder, ids: { runId: string; requestId: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? folder.path,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ANSIBLE_CONFIG: folder.file(RUN_FILES.config),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    PYTHONUNBUFFERED: '1',
    TMPDIR: folder.file(RUN_FILES.tmp),
    // Overrides ansible.cfg's relative default: the socket folder must be short (see RunFolder.controlDir).
    ANSIBLE_SSH_CONTROL_PATH_DIR: folder.controlDir,
    ZAVHOZ_RUN_ID: ids.runId,
    ZAVHOZ_REQUEST_ID: ids.requestId,
  };
  if (process.env.USER) env.USER = process.env.USER;
  return env;
}

/** The argument array of a run's ansible-playbook (the bench runs the same one bare). */
export function playbookArguments(folder: RunFolder): string[] {
  return ['-i', folder.file(RUN_FILES.inventory), '-e', `@${folder.file(RUN_FILES.extraVars)}`, folder.file(RUN_FILES.playbook)];
}

/**
 * Starts ansible-playbook in its own process group (so a cancel can end it and every ssh it started) and hands
 * each output line, stdout and stderr alike, to `onLine`. An abort of `signal` kills the group: SIGTERM, then
 * SIGKILL after a grace period.
 */
export function startPlaybook(
  folder: RunFolder,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  onLine: (line: string) => void,
): PlaybookProcess {
  const child = spawn('ansible-playbook', playbookArguments(folder), {
    cwd: folder.path,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<PlaybookExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new ZavhozError(ErrorCodes.PreconditionFailed, 'ansible-playbook was not found on PATH. Install Ansible (e.g. `apt-get install ansible-core`) and deploy again.')
          : error,
      );
    });
    child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
  });
  const pid = child.pid;
  if (pid === undefined) return { pid: -1, exited };
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
  }
  const kill = (): void => {
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    void exited.finally(() => clearTimeout(timer)).catch(() => undefined);
  };
  if (signal.aborted) kill();
  else signal.addEventListener('abort', kill, { once: true });
  void exited.finally(() => signal.removeEventListener('abort', kill)).catch(() => undefined);
  return { pid, exited };
}

/** Signals a whole process group; a group that is already gone is fine. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left to kill.
  }
}
