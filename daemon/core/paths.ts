import os from 'node:os';
import path from 'node:path';

/**
 * Where one daemon keeps everything: `$ZAVHOZ_HOME`, else the platform's per-user data folder. Every other path
 * is derived from it here, so tests can point a whole daemon at a throwaway folder with one variable.
 */
export function resolveDataFolder(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.ZAVHOZ_HOME;
  if (explicit) return path.resolve(explicit);
  switch (process.platform) {
    case 'win32':
      return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'zavhoz');
    case 'darwin':
      return path.join(os.homedir(), 'Library', 'Application Support', 'zavhoz');
    default:
      return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'zavhoz');
  }
}

/** The files of one data folder. */
export interface DataPaths {
  readonly folder: string;
  readonly socket: string;
  readonly token: string;
  readonly lock: string;
  readonly log: string;
  readonly database: string;
  readonly journal: string;
  readonly runs: string;
}

/** Names every file in a data folder. */
export function dataPaths(folder: string): DataPaths {
  return {
    folder,
    socket: socketPath(folder),
    token: path.join(folder, 'daemon.token'),
    lock: path.join(folder, 'daemon.lock'),
    log: path.join(folder, 'daemon.log'),
    database: path.join(folder, 'zavhoz.db'),
    journal: path.join(folder, 'zavhoz.journal'),
    runs: path.join(folder, 'runs'),
  };
}

function socketPath(folder: string): string {
  if (process.platform === 'win32') {
    // Named pipes live in their own namespace; derive a stable per-folder name.
    const id = Buffer.from(folder).toString('base64url').slice(-40);
    return `\\\\.\\pipe\\zavhoz-${id}`;
  }
  return path.join(folder, 'daemon.sock');
}
