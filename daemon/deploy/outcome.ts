import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { RunStatus, RunStep, RunStepName } from '../protocol/runs.js';

/** Why a run was aborted: the user cancelled, its timeout passed, or the daemon is shutting down. */
export type AbortReason = 'cancelled' | 'timeout' | 'shutdown';

/** How a run ended. */
export interface RunOutcome {
  readonly status: RunStatus;
  readonly error: string | null;
  readonly exitCode: number | null;
}

/** Causes of a failed task that its `fatal:` line shows, each with what the user should do about it. */
const KNOWN_FAILURES: readonly { readonly pattern: RegExp; readonly reason: string | ((match: RegExpExecArray) => string) }[] = [
  {
    // The health check of one module (its loop item is labelled `MODULE URL`) that never answered well in time. The
    // server's address stays out of the words: agents see run errors, and they see servers by handle.
    pattern: /^failed: \[[^\]]*\] \(item=([A-Za-z0-9][A-Za-z0-9_.-]*) https?:\/\/(?:\[[^\]]*\]|[^/:\s]+):(\d+)(\/\S*)\)/,
    reason: (match) =>
      `module ${match[1] ?? ''} did not pass its health check at port ${match[2] ?? ''}, path ${match[3] ?? '/'}. ` +
      `Check that its service listens on the container port its compose file publishes, and its log: zavhoz service logs --project P --module ${match[1] ?? ''}`,
  },
  {
    // The playbook's own checks (compose missing, a login refused, a service that exited or is unhealthy) say what
    // to do themselves, in a line that starts with `Zavhoz: ` (a `fail` message or a script's output).
    pattern: /Zavhoz: ((?:[^"\\]|\\[^n])*)/,
    reason: (match) => unescapeJson(match[1] ?? ''),
  },
  {
    // ansible.cfg names the server's Python (interpreter discovery would cost two round trips per run).
    pattern: /\/usr\/bin\/python3: (?:not found|No such file or directory)/,
    reason: 'the server has no /usr/bin/python3, which Ansible runs its tasks with. Install Python 3 on it (Debian or Ubuntu: sudo apt-get install python3), then deploy again.',
  },
  {
    // The registry wants a login the pull did not have (a private image, or a token for another registry).
    pattern: /no basic auth credentials|unauthorized: authentication required|denied: requested access to the resource is denied/,
    reason:
      'the registry refused to serve an image without a login. Deploy with --registry-token HANDLE (and --registry-user) for ' +
      'the registry the compose files name their images in, or check that the token may read those images.',
  },
  {
    // docker's and compose's words for an image the registry does not have (or will not show without a login).
    pattern: /manifest for (\S+) not found|manifest unknown|pull access denied for (\S+?),|repository does not exist/,
    reason: (match) => {
      const image = match[1] ?? match[2];
      return (
        `an image of the project could not be pulled${image ? ` (${image})` : ''}: the registry does not have it, or will not show it ` +
        'without a login. Check the image names in the compose files (and the *_IMAGE variables), push the image, or deploy with --registry-token HANDLE.'
      );
    },
  },
  {
    // git's words when the server refused the credentials the playbook's credential helper gave it.
    pattern: /Authentication failed for '/,
    reason:
      'git authentication failed: the repository refused the git token. Check that the token given with --git-token is ' +
      'valid, not expired and allowed to read the repository; store a working one with `zavhoz secret rotate HANDLE`.',
  },
  {
    // The server asked for credentials and there were none (no --git-token), with prompts off (GIT_TERMINAL_PROMPT=0).
    pattern: /could not read Username for '[^']*': terminal prompts disabled/,
    reason: 'git authentication failed: the repository asked for credentials and none were given. A private repository needs a token from the vault: deploy with --git-token HANDLE.',
  },
];

/** A JSON string's content (as a `fatal:` line holds it) as text; the raw text when it is not valid JSON. */
function unescapeJson(content: string): string {
  try {
    return (JSON.parse(`"${content}"`) as string).trim();
  } catch {
    return content.trim();
  }
}

/** Why a task failed, in the user's terms, when its `fatal:` / `failed:` output line shows a cause we know. */
export function explainTaskFailure(line: string): string | undefined {
  for (const failure of KNOWN_FAILURES) {
    const match = failure.pattern.exec(line);
    if (match) return typeof failure.reason === 'string' ? failure.reason : failure.reason(match);
  }
  return undefined;
}

/** The outcome of a playbook that ran to its end; `reason` is what {@link explainTaskFailure} made of the failure. */
export function playbookOutcome(runId: string, exitCode: number, failedTask: string | undefined, reason?: string): RunOutcome {
  if (exitCode === 0) return { status: 'succeeded', error: null, exitCode };
  if (failedTask === undefined) {
    return { status: 'failed', exitCode, error: `ansible-playbook exited with ${exitCode} before any task failed. The run log has its message: zavhoz run log ${runId}` };
  }
  return {
    status: 'failed',
    exitCode,
    error: `The task "${failedTask}" failed (ansible-playbook exit ${exitCode})${reason ? `: ${reason}` : '.'} Its output is in the run log: zavhoz run log ${runId}`,
  };
}

/** The outcome of a run that threw: aborted (cancel, timeout, shutdown), a domain error, or a bug (logged). */
export function failureOutcome(error: unknown, signal: AbortSignal, timeoutSeconds: number, runId: string, log: ScopedLogger): RunOutcome {
  if (signal.aborted) {
    const reason = signal.reason as AbortReason;
    if (reason === 'cancelled') return { status: 'cancelled', error: 'Cancelled by the user.', exitCode: null };
    if (reason === 'shutdown') return { status: 'interrupted', error: 'The daemon shut down during the run; deploy again.', exitCode: null };
    // Stopped by the daemon for a reason of its own (the project's lock across the team was lost): it says what to do.
    if ((reason as unknown) instanceof ZavhozError) return { status: 'failed', error: (reason as unknown as ZavhozError).message, exitCode: null };
    return {
      status: 'failed',
      error: `Timed out after ${timeoutSeconds} s and was stopped. Deploy again with a longer --timeout if the server is just slow.`,
      exitCode: null,
    };
  }
  if (error instanceof ZavhozError) return { status: 'failed', error: error.message, exitCode: null };
  log.error('deploy run crashed', { run: runId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return { status: 'failed', error: `Internal error in run ${runId}; the daemon log has the details. Please report it.`, exitCode: null };
}

/** A run's steps as they change; every change is saved through `save`. */
export class StepTracker {
  private readonly steps: Map<RunStepName, RunStep>;

  constructor(
    initial: readonly RunStep[],
    private readonly save: (steps: RunStep[]) => void,
  ) {
    this.steps = new Map(initial.map((step) => [step.name, step]));
  }

  /** Sets a step's status (and what it is doing), keeping when it started. */
  set(name: RunStepName, status: RunStep['status'], detail?: string): void {
    const now = new Date().toISOString();
    this.steps.set(name, {
      name,
      status,
      startedAt: this.steps.get(name)?.startedAt ?? now,
      ...(status === 'running' ? {} : { finishedAt: now }),
      ...(detail === undefined ? {} : { detail }),
    });
    this.save([...this.steps.values()]);
  }

  /** At the run's end: a step still running failed, one never reached was skipped. */
  close(): void {
    const now = new Date().toISOString();
    for (const step of this.steps.values()) {
      if (step.status === 'running') this.steps.set(step.name, { ...step, status: 'failed', finishedAt: now });
      else if (step.status === 'pending') this.steps.set(step.name, { ...step, status: 'skipped' });
    }
    this.save([...this.steps.values()]);
  }
}
