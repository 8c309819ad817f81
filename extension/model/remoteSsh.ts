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

/** The question asked once before Zavhoz adds its Include line to the user's SSH config. */
export const INCLUDE_QUESTION =
  'Remote-SSH finds hosts in ~/.ssh/config. Zavhoz writes its hosts (zavhoz-<server>: address, user, pinned host key, the agent holding the key) to a file of its own. Add one Include line for that file at the top of ~/.ssh/config?';
