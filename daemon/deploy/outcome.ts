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
const KNOWN_FAILURES: readonly { readonly pattern: RegExp; readonly reason: string }[] = [
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

/** Why a task failed, in the user's terms, when its `fatal:` / `failed:` output line shows a cause we know. */
export function explainTaskFailure(line: string): string | undefined {
  return KNOWN_FAILURES.find((failure) => failure.pattern.test(line))?.reason;
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
