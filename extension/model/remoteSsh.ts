import type { RemoteHandedOff } from '../../daemon/protocol/remote.js';

/**
 * The extensions that open a window on an SSH host by its alias (`ssh-remote+<alias>`): Microsoft's Remote-SSH, and
 * Open Remote - SSH, its open-source counterpart for VSCodium and code-server.
 */
export const REMOTE_SSH_EXTENSIONS: readonly string[] = ['ms-vscode-remote.remote-ssh', 'jeanp413.open-remote-ssh'];

/** The remote authority of a window on an SSH host alias. */
export function remoteAuthority(alias: string): string {
  return `ssh-remote+${alias}`;
}

/** The system `ssh` arguments that reach a handed-off server with nothing but Zavhoz's config for its alias. */
export function sshArguments(handed: Pick<RemoteHandedOff, 'hostConfig' | 'alias'>): string[] {
  return ['-F', handed.hostConfig, handed.alias];
}

/** What a person is told once the key is in the agent: where it goes, and until when the agent keeps it. */
export function handoffSummary(handed: Pick<RemoteHandedOff, 'server' | 'alias' | 'expiresAt'>, now: Date = new Date()): string {
  const hours = Math.max(0, (Date.parse(handed.expiresAt) - now.getTime()) / 3_600_000);
  const keeps = hours >= 1 ? `${Math.round(hours)} h` : `${Math.max(1, Math.round(hours * 60))} min`;
  return `The key of ${handed.server} is in your ssh-agent for ${keeps}; connecting to ${handed.alias}.`;
}

/**
 * The SSH config that must include Zavhoz's hosts for Remote-SSH to know them: Remote-SSH's `remote.SSH.configFile`
 * when the person set one (Remote-SSH then reads that file, not `~/.ssh/config`), else `~/.ssh/config`. A setting
 * Remote-SSH cannot use either (a relative path) is a problem to tell the person, not a file to write.
 */
export type IncludeTarget = { readonly file: string; readonly fromSetting: boolean } | { readonly problem: string };

/** Where the Include line goes, from the value of `remote.SSH.configFile` and the home folder. */
export function includeTarget(setting: unknown, home: string, separator: '/' | '\\' = '/'): IncludeTarget {
  const join = (...parts: string[]): string => parts.join(separator);
  if (typeof setting !== 'string' || setting.trim() === '') return { file: join(home, '.ssh', 'config'), fromSetting: false };
  const value = setting.trim();
  if (value === '~') return { problem: `remote.SSH.configFile is "~", a folder. Set it to an SSH config file, e.g. ${join('~', '.ssh', 'config')}.` };
  if (/^~[\\/]/.test(value)) return { file: join(home, value.slice(2)), fromSetting: true };
  if (/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(value)) {
    if (/[\r\n"]/.test(value)) return { problem: `remote.SSH.configFile holds a quote or a line break; Zavhoz cannot write an Include line for ${JSON.stringify(value)}.` };
    return { file: value, fromSetting: true };
  }
  return { problem: `remote.SSH.configFile is "${value}", not an absolute path, so Remote-SSH cannot find it either. Set it to an absolute path (or remove it to use ~/.ssh/config).` };
}

/** The exact line that makes an SSH config include Zavhoz's hosts (what Zavhoz adds, or the person adds by hand). */
export function includeLine(zavhozConfig: string): string {
  return `Include "${zavhozConfig}"`;
}

/** The question asked before Zavhoz adds its Include line to the SSH config Remote-SSH reads. */
export function includeQuestion(target: { readonly file: string; readonly fromSetting: boolean }): string {
  const where = target.fromSetting ? `${target.file} (your remote.SSH.configFile)` : '~/.ssh/config';
  return `Remote-SSH finds hosts in ${where}. Zavhoz writes its hosts (zavhoz-<server>: address, user, pinned host key, the agent holding the key) to a file of its own. Add one Include line for that file at the top of ${target.fromSetting ? target.file : '~/.ssh/config'}?`;
}
