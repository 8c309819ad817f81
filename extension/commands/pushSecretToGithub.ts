import * as vscode from 'vscode';
import { GithubSetSecret } from '../../daemon/protocol/github.js';
import type { ExtensionServices } from '../services.js';
import { workspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';
import { secretFromArgument } from './secretPickers.js';
import { fieldValidator } from './validate.js';

const base = { repo: 'o/r', name: 'X', handle: 'sec_aaaaaaaa' };

/** `zavhoz.github.pushSecret`: stores one vault secret as a GitHub Actions secret, sealed by the daemon. */
export function registerPushSecretToGithub(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.pushSecretToGithub, async (argument: unknown) => {
    const secret = await secretFromArgument(services, argument, 'Secret to push to GitHub');
    if (!secret) return;
    const defaults = await workspaceDefaults();
    const title = `Push ${secret.name} to GitHub`;
    const repo = await vscode.window.showInputBox({
      title,
      prompt: 'GitHub repository (OWNER/REPO)',
      value: defaults.repository ?? '',
      ignoreFocusOut: true,
      validateInput: fieldValidator(GithubSetSecret, base, 'repo'),
    });
    if (!repo) return;
    const name = await vscode.window.showInputBox({
      title,
      prompt: 'Name of the Actions secret',
      value: secret.name,
      ignoreFocusOut: true,
      validateInput: fieldValidator(GithubSetSecret, base, 'name'),
    });
    if (!name) return;
    const environment = await vscode.window.showInputBox({
      title,
      prompt: 'GitHub environment (optional; empty for a repository secret)',
      ignoreFocusOut: true,
      validateInput: (text) => (text.trim() === '' ? undefined : fieldValidator(GithubSetSecret, base, 'environment')(text)),
    });
    if (environment === undefined) return;
    const result = await withProgress(`Zavhoz: pushing ${name.trim()} to ${repo.trim()}…`, (token) =>
      services.connection.request(
        GithubSetSecret,
        { repo: repo.trim(), name: name.trim(), handle: secret.handle, ...(environment.trim() ? { environment: environment.trim() } : {}) },
        token,
      ),
    );
    const pushed = result.pushed[0];
    void vscode.window.showInformationMessage(`Zavhoz: ${pushed ? `${pushed.status} ${pushed.name}` : 'pushed'} in ${result.repo}${result.environment ? ` (${result.environment})` : ''}.`);
  });
}
