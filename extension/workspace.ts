import fs from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { githubRepositoryFromGitConfig, projectNameFromFolder } from './model/workspaceInfo.js';

/** What the open workspace suggests as defaults for deploy, secret and GitHub flows. */
export interface WorkspaceDefaults {
  /** Project name made from the first workspace folder's name, if a folder is open. */
  readonly project?: string;
  /** `OWNER/REPO` of the folder's GitHub remote, if it has one. */
  readonly repository?: string;
  /** The first workspace folder. */
  readonly folder?: vscode.Uri;
  /** The branch checked out in the folder (from `.git/HEAD`), if any. */
  readonly branch?: string;
  /** Where servers clone from instead of GitHub (`zavhoz.deploy.repoUrl`). */
  readonly repoUrl?: string;
  /** Vault handle of a clone token (`zavhoz.deploy.gitTokenSecret`). */
  readonly gitTokenSecret?: string;
}

/** Reads the workspace defaults (the folder name and `.git/config`; no git extension needed). */
export async function workspaceDefaults(): Promise<WorkspaceDefaults> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return {};
  const settings = vscode.workspace.getConfiguration('zavhoz', folder.uri);
  const text = (key: string): string | undefined => settings.get<string>(key)?.trim() || undefined;
  const project = text('project') ?? projectNameFromFolder(path.basename(folder.uri.fsPath));
  const local = folder.uri.scheme === 'file';
  const repository = text('repository') ?? (local ? await repositoryOf(folder.uri.fsPath) : undefined);
  const branch = local ? await branchOf(folder.uri.fsPath) : undefined;
  const repoUrl = text('deploy.repoUrl');
  const gitTokenSecret = text('deploy.gitTokenSecret');
  return {
    project,
    folder: folder.uri,
    ...(repository ? { repository } : {}),
    ...(branch ? { branch } : {}),
    ...(repoUrl ? { repoUrl } : {}),
    ...(gitTokenSecret ? { gitTokenSecret } : {}),
  };
}

/** The checked-out branch from `.git/HEAD` (a detached HEAD has none). */
async function branchOf(folder: string): Promise<string | undefined> {
  try {
    const head = await fs.readFile(path.join(folder, '.git', 'HEAD'), 'utf8');
    return /^ref:\s*refs\/heads\/(.+)$/m.exec(head)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

/** `OWNER/REPO` from the folder's git config; follows `.git` files of worktrees and submodules. */
async function repositoryOf(folder: string): Promise<string | undefined> {
  try {
    let gitFolder = path.join(folder, '.git');
    if ((await fs.stat(gitFolder)).isFile()) {
      const pointer = /^gitdir:\s*(.+)$/m.exec(await fs.readFile(gitFolder, 'utf8'))?.[1]?.trim();
      if (!pointer) return undefined;
      gitFolder = path.resolve(folder, pointer);
      const common = await fs.readFile(path.join(gitFolder, 'commondir'), 'utf8').catch(() => undefined);
      if (common) gitFolder = path.resolve(gitFolder, common.trim());
    }
    return githubRepositoryFromGitConfig(await fs.readFile(path.join(gitFolder, 'config'), 'utf8'));
  } catch {
    return undefined;
  }
}
