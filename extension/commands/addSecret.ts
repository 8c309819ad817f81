import * as vscode from 'vscode';
import { GENERATED_LENGTH, type SecretType, SecretsGenerate, SecretsSet } from '../../daemon/protocol/secrets.js';
import type { ExtensionServices } from '../services.js';
import { newSecretDraft, SecretFormPanel } from '../webviews/secretForm.js';
import { workspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { pickCategory, pickSecretProject } from './secretPickers.js';
import { fieldValidator, integerValidator } from './validate.js';
import { askSecretValue } from './secretInput.js';

/** What "Add Secret…" offers first: typed in the palette, generated, or the form (multi-line values). */
interface AddChoice extends vscode.QuickPickItem {
  readonly mode: 'typed' | 'generated' | 'form';
  readonly type: SecretType;
}

const choices: readonly AddChoice[] = [
  { label: '$(lock) Password', description: 'type it (masked)', mode: 'typed', type: 'password' },
  { label: '$(key) Token', description: 'paste an API or bot token (masked)', mode: 'typed', type: 'token' },
  { label: '$(sparkle) Generate a Password', description: 'Zavhoz makes a strong random value; you never see it', mode: 'generated', type: 'password' },
  { label: '$(sparkle) Generate a Token', description: 'random URL-safe token made by Zavhoz', mode: 'generated', type: 'token' },
  { label: '$(note) Multi-line Text…', description: 'opens the secret form', mode: 'form', type: 'text' },
  { label: '$(file-binary) Private Key…', description: 'opens the secret form (key, passphrase, paste from file)', mode: 'form', type: 'private_key' },
];

const nameBase = { type: 'password', value: 'x' };

/**
 * `zavhoz.secret.add`: single-line values through masked InputBoxes, generated ones without any value in the
 * editor, multi-line text and private keys through the secret form. Called with `{ form: true }` it opens the
 * form directly.
 */
export function registerAddSecret(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.addSecret, async (argument: unknown) => {
    const defaults = await workspaceDefaults();
    const openForm = (type: SecretType): void =>
      SecretFormPanel.show(context, services, newSecretDraft({ type, ...(defaults.project ? { project: defaults.project } : {}) }));
    if (typeof argument === 'object' && argument !== null && 'form' in argument) { openForm('password'); return; }
    const title = 'Add Secret';
    const choice = await vscode.window.showQuickPick(choices, { title, placeHolder: 'What kind of secret?' });
    if (!choice) return;
    if (choice.mode === 'form') { openForm(choice.type); return; }
    const name = await vscode.window.showInputBox({
      title,
      prompt: 'Name (an environment variable name)',
      placeHolder: choice.type === 'token' ? 'TELEGRAM_BOT_TOKEN' : 'DB_PASSWORD',
      ignoreFocusOut: true,
      validateInput: fieldValidator(SecretsSet, nameBase, 'name', (text) => text.toUpperCase()),
    });
    if (!name) return;
    const category = await pickCategory(title, choice.type === 'token' ? 'api_key' : 'other');
    if (!category) return;
    const scope = await pickSecretProject(title, defaults.project);
    if (!scope) return;
    // The value is asked for last, so it sits in this process only for the request that stores it.
    let value: string | undefined;
    let length: number | undefined;
    if (choice.mode === 'typed') {
      value = await askSecretValue({ title, prompt: `Value of ${name.toUpperCase()} (sent to the daemon once, stored in the OS keychain)` });
      if (!value) return;
    } else {
      const typed = await vscode.window.showInputBox({
        title,
        prompt: 'Length of the generated value',
        value: String(GENERATED_LENGTH.default),
        ignoreFocusOut: true,
        validateInput: integerValidator(SecretsGenerate, { name: 'X', type: choice.type }, 'length'),
      });
      if (!typed) return;
      length = Number(typed);
    }
    const described = { name: name.trim().toUpperCase(), category, ...scope };
    const saved =
      value !== undefined
        ? await services.connection.request(SecretsSet, { ...described, type: choice.type, value })
        : await services.connection.request(SecretsGenerate, {
            ...described,
            type: choice.type === 'token' ? 'token' : 'password',
            ...(length ? { length } : {}),
          });
    value = undefined;
    services.log.info(`secret ${saved.name} saved as ${saved.handle}`);
    const copy = 'Copy Handle';
    const picked = await vscode.window.showInformationMessage(`Zavhoz: saved ${saved.name} as ${saved.handle}.`, copy);
    if (picked === copy) await vscode.env.clipboard.writeText(saved.handle);
  });
}
