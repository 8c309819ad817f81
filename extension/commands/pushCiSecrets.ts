import * as vscode from 'vscode';
import { GithubPushSecrets } from '../../daemon/protocol/github.js';
import type { ExtensionServices } from '../services.js';
import { workspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';
import { fieldValidator } from './validate.js';

const base = { repo: 'o/r', project: 'p' };

/**
 * `zavhoz.github.pushSecrets`: seals a project's deploy secrets (DEPLOY_HOST, DEPLOY_SSH_KEY, …) in the daemon and
 * stores them as GitHub Actions secrets, so CI can redeploy on push. Values never pass through the editor.
 */
export function registerPushCiSecrets(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.pushCiSecrets, async () => {
    const defaults = await workspaceDefaults();
    const title = 'Push CI Secrets';
    const repo = await vscode.window.showInputBox({
      title: `${title} (1/3)`,
      prompt: 'GitHub repository (OWNER/REPO)',
      value: defaults.repository ?? '',
      ignoreFocusOut: true,
      validateInput: fieldValidator(GithubPushSecrets, base, 'repo'),
    });
    if (!repo) return;
    const project = await vscode.window.showInputBox({
      title: `${title} (2/3)`,
      prompt: 'Project whose deploy secrets to push',
      value: defaults.project ?? '',
      ignoreFocusOut: true,
      validateInput: fieldValidator(GithubPushSecrets, base, 'project'),
    });
    if (!project) return;
    const environment = await vscode.window.showInputBox({
      title: `${title} (3/3)`,
      prompt: 'GitHub environment (optional; empty for repository secrets)',
      placeHolder: 'production',
      ignoreFocusOut: true,
      validateInput: (text) => (text.trim() === '' ? undefined : fieldValidator(GithubPushSecrets, base, 'environment')(text)),
    });
    if (environment === undefined) return;
    const result = await withProgress(`Zavhoz: pushing ${project}'s deploy secrets to ${repo.trim()}…`, (token) =>
      services.connection.request(
        GithubPushSecrets,
        { repo: repo.trim(), project: project.trim(), ...(environment.trim() ? { environment: environment.trim() } : {}) },
        token,
      ),
    );
    const names = result.pushed.map((secret) => secret.name).join(', ');
    services.log.info(`pushed ${result.pushed.length} secrets to ${result.repo}${result.environment ? ` (${result.environment})` : ''}: ${names}`);
    void vscode.window.showInformationMessage(`Zavhoz: pushed ${result.pushed.length} secrets to ${result.repo}${result.environment ? ` (${result.environment})` : ''}: ${names}.`);
  });
}
