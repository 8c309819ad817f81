import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { type EnvFileEntry, importableText, looksSecret, plainSecretEntries, readEnvFile, withReferences } from '../../daemon/protocol/envReferences.js';
import { SecretsImport } from '../../daemon/protocol/secrets.js';
import { CommandIds } from '../commandIds.js';
import type { ExtensionServices } from '../services.js';
import { workspaceDefaults } from '../workspace.js';
import { withProgress } from './pickers.js';
import { registerCommand } from './register.js';
import { pickCategory, pickSecretProject } from './secretPickers.js';

/** Template files hold names, not values. */
const templates = /\.(example|sample|template|dist)$/;
/** workspaceState key: the hint about plain values in a workspace `.env` was shown (once is enough). */
const HINT_SHOWN = 'zavhoz.envValuesHint.shown';

/**
 * `zavhoz.secret.moveEnvValues` ("Move .env values into Zavhoz"): stores the values of a `.env` file the user picks
 * and rewrites the file so each of them is a reference (`NAME=zavhoz:sec_…`), as `zavhoz secret import FILE --replace`
 * does. The file is replaced only after the import succeeded, atomically. Also offers it once per workspace when a
 * `.env` holds plain values that look like secrets.
 */
export function registerMoveEnvValues(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.moveEnvValues, async (argument: unknown) => {
    const title = 'Move .env Values into Zavhoz';
    const defaults = await workspaceDefaults();
    const file = argument instanceof vscode.Uri ? argument : await pickEnvFile(title);
    if (!file) return;
    const text = await fs.readFile(file.fsPath, 'utf8');
    const entries = readEnvFile(text);
    const names = [...new Set(plainSecretEntries(entries).map((entry) => entry.name))];
    if (names.length === 0) {
      void vscode.window.showInformationMessage(`Zavhoz: ${path.basename(file.fsPath)} holds no plain values to move (only references, short values or comments).`);
      return;
    }
    const chosen = await pickNames(title, entries, names);
    if (!chosen || chosen.length === 0) return;
    const scope = await pickSecretProject(title, defaults.project);
    if (!scope) return;
    const category = await pickCategory(title, 'other');
    if (!category) return;
    const keep = new Set(names.filter((name) => !chosen.includes(name)));
    const result = await withProgress(`Zavhoz: moving values of ${path.basename(file.fsPath)}…`, (token) =>
      services.connection.request(SecretsImport, { content: importableText(text, entries, keep), category, ...scope }, token),
    );
    // The values are stored; the file is rewritten only if nobody changed it meanwhile.
    if ((await fs.readFile(file.fsPath, 'utf8')) !== text) {
      throw new Error(`${path.basename(file.fsPath)} changed while its values were being stored; they are in Zavhoz, the file is untouched. Run the command again.`);
    }
    await replaceFile(file.fsPath, withReferences(text, entries, result.handles, keep));
    services.log.info(`moved ${Object.keys(result.handles).join(', ')} of ${path.basename(file.fsPath)} into Zavhoz`);
    void vscode.window.showInformationMessage(
      `Zavhoz: ${path.basename(file.fsPath)} now holds references for ${Object.keys(result.handles).join(', ')}; the values are in the keychain. ` +
        `Run a command with them: zavhoz exec --env-file ${vscode.workspace.asRelativePath(file)} -- …`,
    );
  });
  void offerOnce(context, services);
}

/** A one-time hint when a workspace `.env` holds plain values that look like secrets. */
async function offerOnce(context: vscode.ExtensionContext, services: ExtensionServices): Promise<void> {
  if (context.workspaceState.get<boolean>(HINT_SHOWN) === true || !vscode.workspace.workspaceFolders?.length) return;
  try {
    for (const file of await envFiles()) {
      let suspicious: string[];
      try {
        suspicious = readEnvFile(await fs.readFile(file.fsPath, 'utf8')).filter(looksSecret).map((entry) => entry.name);
      } catch {
        continue; // Unreadable or not dotenv: nothing to hint about.
      }
      if (suspicious.length === 0) continue;
      await context.workspaceState.update(HINT_SHOWN, true);
      const move = 'Move Values into Zavhoz';
      const shown = suspicious.slice(0, 3).join(', ') + (suspicious.length > 3 ? ', …' : '');
      const choice = await vscode.window.showInformationMessage(
        `${vscode.workspace.asRelativePath(file)} holds plain values that look like secrets (${shown}); any tool or AI assistant in the workspace can read them. Zavhoz can keep them in the keychain and leave references in the file.`,
        move,
      );
      if (choice === move) await vscode.commands.executeCommand(CommandIds.moveEnvValues, file);
      return;
    }
  } catch (error) {
    services.log.warn(`the .env hint could not look at the workspace: ${(error as Error).message}`);
  }
}

async function envFiles(): Promise<vscode.Uri[]> {
  return (await vscode.workspace.findFiles('**/.env*', '**/node_modules/**', 50)).filter((uri) => !templates.test(uri.fsPath));
}

async function pickEnvFile(title: string): Promise<vscode.Uri | undefined> {
  const found = await envFiles();
  const items = found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }));
  const browse = { label: '$(folder-opened) Browse…', uri: undefined };
  const picked = found.length > 0 ? await vscode.window.showQuickPick([...items, browse], { title, placeHolder: '.env file whose values to move' }) : browse;
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  return (await vscode.window.showOpenDialog({ title, canSelectMany: false, openLabel: 'Move Values' }))?.[0];
}

/** Which variables to move: names only (never values), those that look like secrets ticked. */
async function pickNames(title: string, entries: readonly EnvFileEntry[], names: readonly string[]): Promise<string[] | undefined> {
  const secretLooking = new Set(entries.filter(looksSecret).map((entry) => entry.name));
  const picked = await vscode.window.showQuickPick(
    names.map((name) => ({ label: name, picked: secretLooking.has(name), description: secretLooking.has(name) ? 'looks like a secret' : '' })),
    { title, canPickMany: true, placeHolder: 'Values to move into Zavhoz (the others stay in the file as they are)' },
  );
  return picked?.map((item) => item.label);
}

/** Replaces the file atomically: a temporary file beside it with the same mode, synced, renamed over it. */
async function replaceFile(file: string, text: string): Promise<void> {
  const target = await fs.realpath(file);
  const mode = (await fs.stat(target)).mode & 0o7777;
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.zavhoz-${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(temporary, 'wx', mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}
