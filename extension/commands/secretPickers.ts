import * as vscode from 'vscode';
import {
  SECRET_CATEGORIES,
  type SecretCategory,
  type SecretMetadata,
  SecretsGet,
  SecretsList,
} from '../../daemon/protocol/secrets.js';
import { CATEGORY_TITLES, TYPE_TITLES } from '../model/secrets.js';
import type { ExtensionServices } from '../services.js';
import { SecretNode } from '../views/secretsView.js';
import { CommandIds } from '../commandIds.js';

/** The secret a command was invoked on (tree item or handle), or one the user picks; undefined if dismissed. */
export async function secretFromArgument(
  services: ExtensionServices,
  argument: unknown,
  placeHolder: string,
  filter: (secret: SecretMetadata) => boolean = () => true,
): Promise<SecretMetadata | undefined> {
  if (argument instanceof SecretNode) return argument.secret;
  if (typeof argument === 'string') return services.connection.request(SecretsGet, { handle: argument });
  const secrets = await services.connection.listAll(SecretsList, {}, (page) => page.secrets);
  const candidates = secrets.filter(filter);
  if (candidates.length === 0) {
    const choice = await vscode.window.showInformationMessage('Zavhoz: no secret fits here yet.', 'Add Secret…');
    if (choice) await vscode.commands.executeCommand(CommandIds.addSecret);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((secret) => ({
      label: secret.name,
      description: `${secret.handle} · ${TYPE_TITLES[secret.type].toLowerCase()}`,
      detail: `${secret.project ?? 'shared'} · ${CATEGORY_TITLES[secret.category]}`,
      secret,
    })),
    { placeHolder, matchOnDescription: true, matchOnDetail: true },
  );
  return picked?.secret;
}

/** The SSH key secret for a server: `{ handle }` picked, `{}` for none, undefined if dismissed. */
export async function pickSshKeySecret(services: ExtensionServices, title: string): Promise<{ readonly handle?: string } | undefined> {
  const secrets = await services.connection.listAll(SecretsList, {}, (page) => page.secrets);
  const keys = secrets.filter((secret) => secret.type === 'private_key');
  const items: (vscode.QuickPickItem & { readonly handle?: string })[] = [
    ...keys.map((secret) => ({ label: secret.name, description: secret.handle, detail: secret.project ?? 'shared', handle: secret.handle })),
    { label: 'No key for now', description: 'set one later with "Manage"; health checks then stop at TCP' },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: keys.length > 0 ? 'SSH private key (from the vault)' : 'No private key in the vault yet: add one with "Add Secret…" (type Private key)',
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  return picked.handle ? { handle: picked.handle } : {};
}

/** A category, with a suggested default first. */
export async function pickCategory(title: string, suggested: SecretCategory = 'other'): Promise<SecretCategory | undefined> {
  const ordered = [suggested, ...SECRET_CATEGORIES.filter((category) => category !== suggested)];
  const picked = await vscode.window.showQuickPick(
    ordered.map((category) => ({ label: CATEGORY_TITLES[category], description: category, category })),
    { title, placeHolder: 'Category (for grouping)', ignoreFocusOut: true },
  );
  return picked?.category;
}

/** The project a secret belongs to: `{ project }`, `{}` for shared, undefined if dismissed. */
export async function pickSecretProject(title: string, workspaceProject: string | undefined): Promise<{ readonly project?: string } | undefined> {
  const items: (vscode.QuickPickItem & { readonly project?: string })[] = [];
  if (workspaceProject) items.push({ label: workspaceProject, description: 'this workspace', project: workspaceProject });
  items.push({ label: 'Shared', description: 'no project: usable by every project' });
  items.push({ label: 'Other project…' });
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Project the secret belongs to', ignoreFocusOut: true });
  if (!picked) return undefined;
  if (picked.label !== 'Other project…') return picked.project ? { project: picked.project } : {};
  const typed = await vscode.window.showInputBox({ title, prompt: 'Project name', ignoreFocusOut: true });
  return typed ? { project: typed.trim() } : undefined;
}
