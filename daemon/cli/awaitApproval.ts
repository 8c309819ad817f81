import { ResponseError } from 'vscode-jsonrpc';
import type { DaemonClient } from '../client/client.js';
import { ApprovalsDidChange } from '../protocol/approvals.js';
import { type RunDetail, RunsGet } from '../protocol/runs.js';

/**
 * Exit code of `zavhoz deploy` and `zavhoz rollback` without `--wait` when the project is protected and the run waits
 * for a person's approval (nothing ran yet; `zavhoz run approve ID` or VS Code lets it start).
 */
export const AWAITING_APPROVAL_EXIT_CODE = 4;

/** The approval id a refused start names when the run waits for approval, else undefined. */
export function awaitingApproval(error: unknown): string | undefined {
  if (!(error instanceof ResponseError)) return undefined;
  const data = error.data as { approval?: unknown; status?: unknown } | undefined;
  return data?.status === 'awaiting_approval' && typeof data.approval === 'string' ? data.approval : undefined;
}

/** The line a person reads while a run waits: its approval id and the two ways to approve it. */
export function waitingLine(approval: string): string {
  return `waiting for approval ${approval} — approve in VS Code or with \`zavhoz run approve ${approval}\` (reject: \`zavhoz run reject ${approval}\`)`;
}

/**
 * Waits until a person decides on the approval: answers the run it became once approved (a `run_…` id), or the
 * request as a cancelled run when it was rejected or expired. Rejects when the connection closes or `signal` aborts.
 */
export function decision(client: DaemonClient, approval: string, signal: AbortSignal): Promise<RunDetail> {
  return new Promise<RunDetail>((resolve, reject) => {
    const subscriptions: { dispose(): void }[] = [];
    let settled = false;
    const finish = (work: () => void): void => {
      if (settled) return;
      settled = true;
      for (const subscription of subscriptions) subscription.dispose();
      signal.removeEventListener('abort', onAbort);
      work();
    };
    const onAbort = (): void => finish(() => reject(new Error('aborted')));
    // Asked again on every change of this approval (and once now, for a decision made before we listened).
    const look = (): void => {
      client.request(RunsGet, { id: approval }).then(
        (run) => {
          if (run.status !== 'awaiting_approval') finish(() => resolve(run));
        },
        (error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))),
      );
    };
    subscriptions.push(
      client.onNotification(ApprovalsDidChange, (change) => {
        if (change.id === approval && (change.status !== 'approved' || change.runId)) look();
      }),
      client.onClose(() => finish(() => reject(new Error('The daemon closed the connection while the run waited for approval.')))),
    );
    signal.addEventListener('abort', onAbort);
    look();
  });
}
