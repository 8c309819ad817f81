import * as vscode from 'vscode';
import { type SecretMetadata, SecretsDidChange, SecretsList } from '../../daemon/protocol/secrets.js';
import {
  describeSecret,
  groupSecrets,
  secretDetails,
  secretWarning,
  type SecretCategoryGroup,
  type SecretProjectGroup,
} from '../model/secrets.js';
import type { ExtensionServices } from '../services.js';
import { DaemonTreeProvider, TreeNode } from './tree.js';

/** A project (or "Shared") group of the Secrets view. */
export class SecretProjectNode extends TreeNode {
  constructor(group: SecretProjectGroup, now: Date) {
    super(group.title, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `secrets/${group.project ?? ''}`;
    this.iconPath = new vscode.ThemeIcon(group.project === null ? 'globe' : 'project');
    this.contextValue = 'secret.project';
    const count = group.categories.reduce((sum, category) => sum + category.secrets.length, 0);
    this.description = group.warnings > 0 ? `${count} · ${group.warnings} need attention` : String(count);
    this.accessibilityInformation = { label: `${group.title}: ${this.description} secrets` };
    this.children = group.categories.map((category) => new SecretCategoryNode(group.project, category, now));
  }
}

/** A category inside a project group. */
export class SecretCategoryNode extends TreeNode {
  constructor(project: string | null, group: SecretCategoryGroup, now: Date) {
    super(group.title, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `secrets/${project ?? ''}/${group.category}`;
    this.iconPath = new vscode.ThemeIcon('folder');
    this.contextValue = 'secret.category';
    this.description = String(group.secrets.length);
    this.children = group.secrets.map((secret) => new SecretNode(secret, now));
  }
}

/**
 * One secret: name, handle, type, last use and expiry warnings — metadata only, the value never reaches a
 * tree. `contextValue` is `secret.generated` or `secret.user` (rotation differs).
 */
export class SecretNode extends TreeNode {
  constructor(
    readonly secret: SecretMetadata,
    now: Date,
  ) {
    super(secret.name, vscode.TreeItemCollapsibleState.None);
    this.id = `secret/${secret.handle}`;
    this.description = describeSecret(secret, now);
    this.tooltip = secretDetails(secret, now).join('\n');
    this.contextValue = secret.origin === 'generated' ? 'secret.generated' : 'secret.user';
    const warning = secretWarning(secret, now);
    this.iconPath = warning
      ? new vscode.ThemeIcon('warning', new vscode.ThemeColor(warning.severity === 'error' ? 'list.errorForeground' : 'list.warningForeground'))
      : new vscode.ThemeIcon(secret.type === 'private_key' ? 'key' : secret.type === 'text' ? 'note' : 'lock');
    this.accessibilityInformation = { label: `Secret ${secret.name}, ${this.description}` };
  }
}

/** The Secrets view: by project and category. */
export class SecretsProvider extends DaemonTreeProvider {
  constructor(services: ExtensionServices) {
    super(services.connection);
    this.refreshOn(SecretsDidChange);
  }

  protected async loadRoots(): Promise<readonly TreeNode[]> {
    const secrets = await this.connection.listAll(SecretsList, {}, (page) => page.secrets);
    const now = new Date();
    return groupSecrets(secrets, now).map((group) => new SecretProjectNode(group, now));
  }
}

/** Registers the Secrets view. */
export function registerSecretsView(context: vscode.ExtensionContext, services: ExtensionServices): SecretsProvider {
  const provider = new SecretsProvider(services);
  provider.view = vscode.window.createTreeView('zavhoz.secrets', { treeDataProvider: provider, showCollapseAll: true });
  context.subscriptions.push(provider, provider.view);
  return provider;
}
