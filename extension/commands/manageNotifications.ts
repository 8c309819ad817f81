import * as vscode from 'vscode';
import {
  type EndpointKind,
  type EndpointSettings,
  NOTIFY_EVENTS,
  type NotifyEventKind,
  NotifyAdd,
  NotifyList,
  NotifyRemove,
  webhookUrl,
} from '../../daemon/protocol/notify.js';
import type { ExtensionServices } from '../services.js';
import { EndpointNode } from '../views/notifyView.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { secretFromArgument } from './secretPickers.js';

const KINDS: readonly (vscode.QuickPickItem & { readonly endpointKind: EndpointKind })[] = [
  { label: 'Webhook', description: 'a JSON body signed with HMAC-SHA256', endpointKind: 'webhook' },
  { label: 'Slack', description: 'an incoming-webhook URL kept in the vault', endpointKind: 'slack' },
  { label: 'Telegram', description: 'a bot (token in the vault) writing to a chat', endpointKind: 'telegram' },
  { label: 'Email', description: 'SMTP with STARTTLS', endpointKind: 'email' },
];

/** Asks one line; undefined when dismissed. `check` answers what is wrong with a value, in words for people. */
async function ask(title: string, prompt: string, check: (value: string) => string | undefined, value = ''): Promise<string | undefined> {
  const answer = await vscode.window.showInputBox({ title, prompt, value, ignoreFocusOut: true, validateInput: (text) => check(text.trim()) });
  return answer?.trim();
}

/** A vault handle for a credential, picked by name; undefined when dismissed. Never the value. */
async function pickCredential(services: ExtensionServices, placeHolder: string): Promise<string | undefined> {
  return (await secretFromArgument(services, undefined, placeHolder))?.handle;
}

/** What the chosen kind needs, credentials as vault handles; undefined when dismissed. */
async function askSettings(services: ExtensionServices, kind: EndpointKind, title: string): Promise<EndpointSettings | undefined> {
  const required = (what: string) => (value: string) => (value === '' ? `${what} is required` : undefined);
  switch (kind) {
    case 'webhook': {
      const url = await ask(title, 'The receiver URL (https, or http on loopback)', (value) => webhookUrl.safeParse(value).error?.issues[0]?.message);
      if (url === undefined) return undefined;
      const signingKeySecret = await pickCredential(services, 'The secret the body is signed with (X-Zavhoz-Signature)');
      return signingKeySecret === undefined ? undefined : { kind, url, signingKeySecret };
    }
    case 'slack': {
      const urlSecret = await pickCredential(services, 'The secret holding the Slack incoming-webhook URL');
      return urlSecret === undefined ? undefined : { kind, urlSecret };
    }
    case 'telegram': {
      const botTokenSecret = await pickCredential(services, 'The secret holding the bot token (category Telegram bot)');
      if (botTokenSecret === undefined) return undefined;
      const chatId = await ask(title, 'The chat the bot writes to: a numeric id or @channelname', (value) => (/^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$/.test(value) ? undefined : 'a numeric chat id or @channelname'));
      return chatId === undefined ? undefined : { kind, botTokenSecret, chatId };
    }
    case 'email': {
      const host = await ask(title, 'The SMTP server (it must offer STARTTLS)', required('The server'));
      if (host === undefined) return undefined;
      const port = await ask(title, 'Its port', (value) => (/^\d{1,5}$/.test(value) && Number(value) <= 65_535 ? undefined : 'a port number'), '587');
      if (port === undefined) return undefined;
      const from = await ask(title, 'The sender address', required('The sender'));
      if (from === undefined) return undefined;
      const to = await ask(title, 'Who gets the messages (addresses, comma-separated)', required('At least one address'));
      if (to === undefined) return undefined;
      const user = await ask(title, 'The SMTP login (leave empty for a server that needs none)', () => undefined);
      if (user === undefined) return undefined;
      const passwordSecret = user === '' ? undefined : await pickCredential(services, 'The secret holding the SMTP password');
      if (user !== '' && passwordSecret === undefined) return undefined;
      return {
        kind,
        host,
        port: Number(port),
        from,
        to: to.split(',').map((address) => address.trim()).filter((address) => address !== ''),
        ...(user === '' ? {} : { user, passwordSecret }),
      };
    }
  }
}

/**
 * `zavhoz.notify.add`, `zavhoz.notify.remove` and the Notifications view's Test (`zavhoz.notify.test` takes the
 * endpoint node). Add asks the kind, a name, what the kind needs (credentials picked from the vault by name, so only a
 * handle is ever sent) and the events.
 */
export function registerManageNotifications(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.addNotification, async () => {
    const title = 'Zavhoz: Add Notification Endpoint';
    const kind = await vscode.window.showQuickPick(KINDS, { title, placeHolder: 'Where messages go', ignoreFocusOut: true });
    if (!kind) return;
    const taken = new Set((await services.connection.request(NotifyList, {})).endpoints.map((endpoint) => endpoint.name));
    const name = await ask(title, 'A short name, e.g. ops-telegram', (value) =>
      !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value) ? 'letters, digits, . _ - (up to 64)' : taken.has(value) ? `${value} exists already` : undefined,
    );
    if (name === undefined) return;
    const endpoint = await askSettings(services, kind.endpointKind, title);
    if (!endpoint) return;
    const picked = await vscode.window.showQuickPick(
      NOTIFY_EVENTS.map((event) => ({ label: event, picked: true, event })),
      { title, placeHolder: 'The events it gets', canPickMany: true, ignoreFocusOut: true },
    );
    if (!picked || picked.length === 0) return;
    const events: NotifyEventKind[] = picked.map((item) => item.event);
    const added = await services.connection.request(NotifyAdd, {
      name,
      endpoint,
      ...(events.length === NOTIFY_EVENTS.length ? {} : { events }),
    });
    const choice = await vscode.window.showInformationMessage(`Zavhoz: added the notification endpoint ${added.name}.`, 'Send Test');
    if (choice) await vscode.commands.executeCommand(CommandIds.testNotification, added.id);
  });

  registerCommand(context, services.log, CommandIds.removeNotification, async (argument: unknown) => {
    if (!(argument instanceof EndpointNode)) return;
    const { endpoint } = argument;
    const remove = 'Remove';
    const choice = await vscode.window.showWarningMessage(
      `Remove the notification endpoint ${endpoint.name}?`,
      { modal: true, detail: `Messages still queued for it (${endpoint.pending}) are dropped. Its credentials stay in the vault.` },
      remove,
    );
    if (choice !== remove) return;
    const result = await services.connection.request(NotifyRemove, { id: endpoint.id });
    void vscode.window.showInformationMessage(`Zavhoz: removed ${endpoint.name}${result.dropped > 0 ? `; ${result.dropped} queued message(s) dropped` : ''}.`);
  });
}
