import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { ANSIBLE_EXIT, startPlaybook } from './ansible.js';
import { type ExecutionContext, type ExecutionHooks, retriesOf } from './executionContext.js';
import { type PlaybookFailure, PlaybookProgress, StepOrderedOutput } from './playbookSteps.js';
import type { DeployTarget } from './ports.js';
import { withRetries } from './retries.js';

/** How a playbook pass ended: its exit code, its first failed task and what its `zavhoz_report` task reported. */
export interface PlaybookResult {
  readonly exitCode: number;
  readonly failure: PlaybookFailure | undefined;
  readonly report: unknown;
}

/**
 * Runs the playbook (again, after a backoff, while the host is unreachable) and returns how it ended. Its output
 * goes to the run's log; the steps its tasks declare go to `hooks` (the run's, unless a pass reports elsewhere).
 */
export async function runPlaybook(
  context: ExecutionContext,
  target: DeployTarget,
  env: NodeJS.ProcessEnv,
  hooks: Pick<ExecutionHooks, 'step' | 'started'> = context.hooks,
): Promise<PlaybookResult> {
  const { folder, log, signal } = context;
  // No step is started here: each task reports the step it declares (the first ones end the pre-flight).
  return withRetries(retriesOf(context, 'playbook'), async (attempt) => {
    // One per attempt: the task an unreachable attempt stopped at must not name a later failure.
    const progress = new PlaybookProgress((step, status, detail) => hooks.step(step, status, detail));
    // Step lines before the banners of the tasks that start them (see StepOrderedOutput).
    const output = new StepOrderedOutput(progress, (line) => log.write(line));
    const started = startPlaybook(folder, env, signal, (line) => output.take(line));
    hooks.started(started.pid, attempt);
    const exit = await started.exited;
    output.end();
    if (signal.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'aborted');
    if (exit.code === ANSIBLE_EXIT.unreachable) {
      throw new ZavhozError(ErrorCodes.Unreachable, `Ansible could not reach ${target.server} (${target.host}:${target.sshPort}); run.log has its message.`);
    }
    return { exitCode: exit.code ?? -1, failure: progress.failedTask, report: progress.reported };
  });
}
