import type { ScopedLogger } from '../core/logger.js';
import type { RunDetail } from '../protocol/runs.js';
import type { DeploySecrets } from './ports.js';
import type { RunLog } from './runLog.js';

/** Work that follows every successful deploy (the GitHub push of CI secrets); `note` writes to the run's log. */
export type SuccessHook = (run: RunDetail, note: (message: string) => void) => Promise<void>;

/**
 * What follows a successful deploy: the vault learns which handles reached the server, then every registered hook
 * runs. A failure of either is noted in the run's log; the run stays succeeded.
 */
export class AfterSuccess {
  private readonly hooks: SuccessHook[] = [];

  constructor(
    private readonly secrets: Pick<DeploySecrets, 'confirmDeployed'>,
    private readonly log: ScopedLogger,
  ) {}

  /** Registers work to run after each successful deploy. */
  add(hook: SuccessHook): void {
    this.hooks.push(hook);
  }

  /** Confirms the delivered handles, then runs the hooks in order; `detail` is read afresh for each hook. */
  async carryOut(runId: string, handles: readonly string[], detail: () => Promise<RunDetail>, runLog: RunLog): Promise<void> {
    await this.confirmDeployedHandles(handles, runLog);
    for (const hook of this.hooks) {
      try {
        await hook(await detail(), (message) => runLog.note(message));
      } catch (error) {
        runLog.note(`after the deploy: ${messageOf(error)}`);
        this.log.warn('after-deploy step failed', { run: runId, error: messageOf(error) });
      }
    }
  }

  private async confirmDeployedHandles(handles: readonly string[], runLog: RunLog): Promise<void> {
    try {
      await this.secrets.confirmDeployed(handles);
    } catch (error) {
      runLog.note(`the vault could not record the deployed handles: ${messageOf(error)}`);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
