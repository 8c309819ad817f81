import * as vscode from 'vscode';
import { type Approval, ApprovalsDidChange, ApprovalsList, RunsApprove, RunsReject } from '../daemon/protocol/approvals.js';
import type { ExtensionServices } from './services.js';
import { errorMessage } from './model/errors.js';

/**
 * Asks the person at VS Code about each run of a protected project that waits for approval (an agent's, the rotation
 * timer's, a CLI deploy without --yes): a notification naming the project, the plan and its secret handles, with
 * Approve and Reject. Clicking Approve here is the person's decision; the daemon starts the run under `vscode`.
 */
export function registerApprovalPrompts(context: vscode.ExtensionContext, services: ExtensionServices): void {
  const asked = new Set<string>();
  context.subscriptions.push(
    services.connection.onNotification(ApprovalsDidChange, ({ id, status }) => {
      if (status !== 'awaiting_approval' || asked.has(id)) return;
      asked.add(id);
      void prompt(services, id);
    }),
  );
}

async function prompt(services: ExtensionServices, id: string): Promise<void> {
  let approval: Approval | undefined;
  try {
    approval = (await services.connection.request(ApprovalsList, {})).approvals.find((candidate) => candidate.id === id);
  } catch (error) {
    services.log.warn(`approval ${id}: ${errorMessage(error)}`);
  }
  if (!approval) return;
  const approve = 'Approve';
  const reject = 'Reject';
  const secrets = approval.handles.length > 0 ? ` Secrets: ${approval.handles.join(', ')}.` : '';
  const choice = await vscode.window.showWarningMessage(
    `Zavhoz: ${approval.requestedBy} asks to ${approval.kind} the protected project ${approval.project}: ${approval.summary}.${secrets} (expires ${new Date(approval.expiresAt).toLocaleTimeString()})`,
    approve,
    reject,
  );
  if (choice === undefined) return;
  try {
    await decideApproval(services, { id, kind: approval.kind, project: approval.project }, choice === approve);
  } catch (error) {
    void vscode.window.showErrorMessage(`Zavhoz: ${errorMessage(error)}`);
  }
}

/**
 * A person's decision on a waiting run (from the prompt or the Runs view): approving starts it under `vscode` and
 * says which run it became; rejecting lets nothing run.
 */
export async function decideApproval(services: ExtensionServices, approval: { readonly id: string; readonly kind: string; readonly project: string }, approve: boolean): Promise<void> {
  if (approve) {
    const result = await services.connection.request(RunsApprove, { id: approval.id });
    services.log.info(`approved ${approval.id}: ${result.runId ? `run ${result.runId}` : `${approval.kind} of ${approval.project}`} started`);
    void vscode.window.showInformationMessage(`Zavhoz: approved; the ${approval.kind} of ${approval.project} started${result.runId ? ` (run ${result.runId})` : ''}.`);
  } else {
    await services.connection.request(RunsReject, { id: approval.id });
    services.log.info(`rejected ${approval.id}`);
    void vscode.window.showInformationMessage(`Zavhoz: rejected; the ${approval.kind} of ${approval.project} will not run.`);
  }
}
