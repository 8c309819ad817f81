import fs from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { SecretsImport } from '../../daemon/protocol/secrets.js';
import type { ExtensionServices } from '../services.js';
import { workspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';
import { pickCategory, pickSecretProject } from './secretPickers.js';

/** Template files hold names, not values: they are not offered for import. */
const templates = /\.(example|sample|template|dist)$/;

/**
 * `zavhoz.secret.importEnv`: sends a `.env` file's text to the daemon (all or nothing) and reports created,
 * updated and unchanged names. Called from the explorer, it imports the file clicked.
 */
export function registerImportEnv(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.importEnv, async (argument: unknown) => {
    const title = 'Import .env';
    const defaults = await workspaceDefaults();
    const file = argument instanceof vscode.Uri ? argument : await pickEnvFile(title, defaults.folder);
    if (!file) return;
    const scope = await pickSecretProject(title, defaults.project);
    if (!scope) return;
    const category = await pickCategory(title, 'other');
    if (!category) return;
    const stat = await fs.stat(file.fsPath);
    if (stat.size > 900 * 1024) throw new Error(`${file.fsPath} is larger than 900 KB; split it before importing.`);
    const result = await withProgress(`Zavhoz: importing ${path.basename(file.fsPath)}…`, async (token) =>
      services.connection.request(SecretsImport, { content: await fs.readFile(file.fsPath, 'utf8'), category, ...scope }, token),
    );
    const parts = [
      result.created.length > 0 ? `created ${result.created.join(', ')}` : undefined,
      result.updated.length > 0 ? `rotated ${result.updated.join(', ')}` : undefined,
      result.unchanged.length > 0 ? `${result.unchanged.length} unchanged` : undefined,
    ].filter((part) => part !== undefined);
    const summary = `${path.basename(file.fsPath)}: ${parts.join('; ') || 'no variables found'}.`;
    services.log.info(`import ${summary}`);
    const remove = 'Delete the File';
    const choice = await vscode.window.showInformationMessage(
      `Zavhoz imported ${summary} The values are in the keychain now; the file still holds them in plain text.`,
      remove,
    );
    if (choice === remove) {
      await vscode.workspace.fs.delete(file, { useTrash: true });
      void vscode.window.showInformationMessage(`Zavhoz: moved ${path.basename(file.fsPath)} to the trash.`);
    }
  });
}

async function pickEnvFile(title: string, folder: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  const found = folder
    ? (await vscode.workspace.findFiles('**/.env*', '**/node_modules/**', 50)).filter((uri) => !templates.test(uri.fsPath))
    : [];
  const browse = { label: '$(folder-opened) Browse…', uri: undefined };
  const items = [
    ...found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
    browse,
  ];
  const picked = found.length > 0 ? await vscode.window.showQuickPick(items, { title, placeHolder: '.env file to import' }) : browse;
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  const chosen = await vscode.window.showOpenDialog({ title, canSelectMany: false, openLabel: 'Import', ...(folder ? { defaultUri: folder } : {}) });
  return chosen?.[0];
}
