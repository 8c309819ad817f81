import * as vscode from 'vscode';
import type { SecretAnswer, SecretAsk } from '../../daemon/agent/tool.js';
import type { ExtensionServices } from '../services.js';
import { newSecretDraft, SECRET_FORM_VIEW_TYPE, SecretFormPanel } from './secretForm.js';

/** True for the tab of a secret form panel (VS Code may prefix the view type of webview tabs). */
function isSecretFormTab(tab: vscode.Tab): boolean {
  return tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith(SECRET_FORM_VIEW_TYPE);
}

function secretFormTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter(isSecretFormTab);
}

/**
 * `zavhoz_request_secret` in VS Code: opens the secret form with the name, type, project and category filled in,
 * and answers with the handle once the human saved, or "declined" when they close the form (or the chat cancels).
 * The value goes from the form to the daemon on the extension's own connection; this code never sees it.
 */
export function askHumanThroughForm(context: vscode.ExtensionContext, services: ExtensionServices): (ask: SecretAsk, signal: AbortSignal) => Promise<SecretAnswer> {
  return (ask, signal) =>
    new Promise<SecretAnswer>((resolve) => {
      const before = new Set(secretFormTabs());
      let ours: vscode.Tab | undefined;
      let settled = false;
      const finish = (answer: SecretAnswer): void => {
        if (settled) return;
        settled = true;
        tabs.dispose();
        signal.removeEventListener('abort', onAbort);
        resolve(answer);
      };
      const onAbort = (): void => finish({ kind: 'declined' });
      // The form closes an older one when it opens, so only the tab that opened for this request counts.
      const tabs = vscode.window.tabGroups.onDidChangeTabs((event) => {
        ours ??= event.opened.find((tab) => isSecretFormTab(tab) && !before.has(tab));
        if (ours && event.closed.includes(ours)) finish({ kind: 'declined' });
      });
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) { onAbort(); return; }
      services.log.info(`an agent asks for secret ${ask.name} (${ask.type}${ask.project ? `, project ${ask.project}` : ''}): secret form opened`);
      SecretFormPanel.show(
        context,
        services,
        newSecretDraft({
          name: ask.name,
          type: ask.type,
          ...(ask.project === undefined ? {} : { project: ask.project }),
          ...(ask.category === undefined ? {} : { category: ask.category }),
        }),
        (saved) => finish({ kind: 'saved', handle: saved.handle, name: saved.name }),
      );
      ours ??= secretFormTabs().find((tab) => !before.has(tab));
    });
}
