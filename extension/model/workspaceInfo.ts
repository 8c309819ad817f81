/**
 * Defaults read from the workspace without any git or VS Code API: the project name from the folder name and
 * `OWNER/REPO` from the GitHub remote in `.git/config`. Pure functions, unit-tested.
 */

/** A project name the daemon accepts (lowercase letters, digits, `_`, `-`; at most 64) made from a folder name. */
export function projectNameFromFolder(folderName: string): string {
  const name = folderName
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64)
    .replace(/[-_]+$/, '');
  return name === '' ? 'project' : name;
}

/** The remotes of a git config, in file order: name → URL. */
export function remotesFromGitConfig(config: string): Map<string, string> {
  const remotes = new Map<string, string>();
  let section: string | undefined;
  for (const raw of config.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*remote\s+"([^"]+)"\s*\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    if (line.startsWith('[')) {
      section = undefined;
      continue;
    }
    const entry = /^url\s*=\s*(.+)$/.exec(line);
    if (section !== undefined && entry?.[1] && !remotes.has(section)) remotes.set(section, entry[1].trim().replace(/^"|"$/g, ''));
  }
  return remotes;
}

/** `OWNER/REPO` from a GitHub remote URL (https, ssh or scp-like), or undefined for other hosts. */
export function githubRepositoryFromUrl(url: string): string | undefined {
  const match =
    /^(?:https?:\/\/(?:[^@/]+@)?|ssh:\/\/(?:[^@/]+@)?|git:\/\/|(?:[^@/]+@)?)github\.com[:/]([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(
      url.trim(),
    );
  if (!match?.[1] || !match[2]) return undefined;
  return `${match[1]}/${match[2]}`;
}

/** The GitHub repository of a git config: `origin` first, then any other GitHub remote. */
export function githubRepositoryFromGitConfig(config: string): string | undefined {
  const remotes = remotesFromGitConfig(config);
  const origin = remotes.get('origin');
  const fromOrigin = origin === undefined ? undefined : githubRepositoryFromUrl(origin);
  if (fromOrigin) return fromOrigin;
  for (const url of remotes.values()) {
    const repository = githubRepositoryFromUrl(url);
    if (repository) return repository;
  }
  return undefined;
}
