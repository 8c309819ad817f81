import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { ANSIBLE_EXIT, startPlaybook } from './ansible.js';
import { type ExecutionContext, retriesOf } from './executionContext.js';
import { PlaybookProgress } from './playbookSteps.js';
import type { DeployTarget } from './ports.js';
import { withRetries } from './retries.js';

/**
 * Runs the playbook (again, after a backoff, while the host is unreachable) and returns its exit code. Its output
 * goes to the run's log; the steps its tasks declare go to the run's steps.
 */
export async function runPlaybook(context: ExecutionContext, target: DeployTarget, env: NodeJS.ProcessEnv): Promise<number> {
  const { folder, log, signal, hooks } = context;
  // No step is started here: each task reports the step it declares (the first ones end the pre-flight).
  return withRetries(retriesOf(context, 'playbook'), async (attempt) => {
    // One per attempt: the task an unreachable attempt stopped at must not name a later failure.
    const progress = new PlaybookProgress((step, status, detail) => hooks.step(step, status, detail));
    const started = startPlaybook(folder, env, signal, (line) => {
      if (progress.take(line)) log.write(line);
    });
    hooks.started(started.pid, attempt);
    const exit = await started.exited;
    if (signal.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'aborted');
    if (exit.code === ANSIBLE_EXIT.unreachable) {
      throw new ZavhozError(ErrorCodes.Unreachable, `Ansible could not reach ${target.server} (${target.host}:${target.sshPort}); run.log has its message.`);
    }
    const failed = progress.failedTask;
    if (failed !== undefined) hooks.taskFailed(failed.task, failed.reason);
    return exit.code ?? -1;
  });
}
