import * as vscode from 'vscode';
import { NotifyList, NotifyTest } from '../../daemon/protocol/notify.js';
import type { ExtensionServices } from '../services.js';
import { EndpointNode } from '../views/notifyView.js';
import { CommandIds } from '../commandIds.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';

/**
 * `zavhoz.notify.test`: sends a test message to the endpoint it was invoked on (the Notifications view) or one the
 * person picks, saying whether it arrived.
 */
export function registerTestNotification(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.testNotification, async (argument: unknown) => {
    const { endpoints } = await services.connection.request(NotifyList, {});
    // From the Notifications view (its node) or after Add (its id): no need to pick.
    const given = argument instanceof EndpointNode ? argument.endpoint.id : typeof argument === 'string' ? argument : undefined;
    const known = endpoints.find((endpoint) => endpoint.id === given);
    if (known) {
      await send(services, { id: known.id, label: known.name });
      return;
    }
    if (endpoints.length === 0) {
      void vscode.window.showInformationMessage('Zavhoz: no notification endpoints yet. Add one with "Add Notification Endpoint…" or `zavhoz notify add`.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      endpoints.map((endpoint) => ({
        label: endpoint.name,
        description: endpoint.kind,
        detail: `${endpoint.pending} pending${endpoint.failed > 0 ? `, ${endpoint.failed} failed` : ''}${endpoint.lastError ? ` · last error: ${endpoint.lastError}` : ''}`,
        id: endpoint.id,
      })),
      { title: 'Zavhoz: Send Test Notification', placeHolder: 'The endpoint to send a test message to' },
    );
    if (!picked) return;
    await send(services, picked);
  });
}

/** Sends the test message and says whether it arrived. */
async function send(services: ExtensionServices, picked: { readonly id: string; readonly label: string }): Promise<void> {
  const result = await withProgress(`Zavhoz: sending a test message to ${picked.label}…`, (token) => services.connection.request(NotifyTest, { id: picked.id }, token));
  if (result.delivered) {
    void vscode.window.showInformationMessage(`Zavhoz: ${picked.label} took the test message.`);
  } else {
    services.log.warn(`test notification to ${picked.label} failed: ${result.error ?? 'unknown error'}`);
    void vscode.window.showErrorMessage(`Zavhoz: the test message to ${picked.label} was not delivered: ${result.error ?? 'unknown error'}`);
  }
}
