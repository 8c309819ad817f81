import * as vscode from 'vscode';
import { type Approval, ApprovalsDidChange, ApprovalsList, RunsApprove, RunsReject } from '../daemon/protocol/approvals.js';
import type { ExtensionServices } from './services.js';
import { errorMessage } from './model/errors.js';

/** More requests than this already waiting when VS Code connects get one summary instead of a prompt each. */
const PROMPTS_AT_CONNECT = 2;

/**
 * Asks the person at VS Code about each run of a protected project that waits for approval (an agent's, the rotation
 * timer's, a CLI deploy without --yes): a notification naming the project, the plan and its secret handles, with
 * Approve and Reject. Clicking Approve here is the person's decision; the daemon starts the run under `vscode`.
 * Requests made while VS Code was closed or not yet connected are asked about when it connects: a person who opens
 * VS Code in the morning sees what an agent asked for at night.
 */
export function registerApprovalPrompts(context: vscode.ExtensionContext, services: ExtensionServices): void {
  const asked = new Set<string>();
  const askAboutWaiting = (): void => void promptForWaiting(services, asked);
  context.subscriptions.push(
    services.connection.onNotification(ApprovalsDidChange, ({ id, status }) => {
      if (status !== 'awaiting_approval' || asked.has(id)) return;
      asked.add(id);
      void prompt(services, asked, id);
    }),
    services.connection.onDidChangeState((state) => {
      if (state.kind === 'connected') askAboutWaiting();
    }),
  );
  if (services.connection.state.kind === 'connected') askAboutWaiting();
}

/** On connecting: a prompt for each waiting request not asked about yet, or one summary when there are many. */
async function promptForWaiting(services: ExtensionServices, asked: Set<string>): Promise<void> {
  let waiting: readonly Approval[];
  try {
    waiting = (await services.connection.request(ApprovalsList, {})).approvals.filter((approval) => !asked.has(approval.id));
  } catch (error) {
    services.log.warn(`waiting approvals: ${errorMessage(error)}`);
    return;
  }
  for (const approval of waiting) asked.add(approval.id);
  if (waiting.length <= PROMPTS_AT_CONNECT) {
    for (const approval of waiting) void ask(services, approval);
    return;
  }
  services.log.info(`${waiting.length} runs wait for approval`);
  const show = 'Show Runs';
  const choice = await vscode.window.showWarningMessage(`Zavhoz: ${waiting.length} runs of protected projects wait for your approval (${[...new Set(waiting.map((approval) => approval.project))].join(', ')}).`, show);
  if (choice === show) await vscode.commands.executeCommand('zavhoz.runs.focus');
}

async function prompt(services: ExtensionServices, asked: Set<string>, id: string): Promise<void> {
  let approval: Approval | undefined;
  try {
    approval = (await services.connection.request(ApprovalsList, {})).approvals.find((candidate) => candidate.id === id);
  } catch (error) {
    services.log.warn(`approval ${id}: ${errorMessage(error)}`);
  }
  if (!approval) {
    // Decided or expired meanwhile, or the daemon did not answer: a later change of this request may ask again.
    asked.delete(id);
    services.log.info(`approval ${id} is no longer waiting; not asking`);
    return;
  }
  await ask(services, approval);
}

/** The notification for one waiting request, and the person's decision on it. */
async function ask(services: ExtensionServices, approval: Approval): Promise<void> {
  const approve = 'Approve';
  const reject = 'Reject';
  const secrets = approval.handles.length > 0 ? ` Secrets: ${approval.handles.join(', ')}.` : '';
  services.log.info(`asking about approval ${approval.id} (${approval.kind} of ${approval.project})`);
  const choice = await vscode.window.showWarningMessage(
    `Zavhoz: ${approval.requestedBy} asks to ${approval.kind} the protected project ${approval.project}: ${approval.summary}.${secrets} (expires ${new Date(approval.expiresAt).toLocaleTimeString()})`,
    approve,
    reject,
  );
  if (choice === undefined) return;
  try {
    await decideApproval(services, { id: approval.id, kind: approval.kind, project: approval.project }, choice === approve);
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
