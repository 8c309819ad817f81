import fs from 'node:fs';
import path from 'node:path';
import type { ScopedLogger } from '../core/logger.js';
import type { RunStatus } from '../protocol/runs.js';
import { killGroup } from './ansible.js';
import { closeMasters } from './preflight.js';
import { RunFolder } from './runFolder.js';
import type { RunStore } from './runStore.js';

/** True if `pid` is still the ansible-playbook of this run folder (not a process that reused the pid). */
function isRunProcess(pid: number, folder: string): boolean {
  try {
    const commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return commandLine.some((part) => part.includes('ansible-playbook')) && commandLine.some((part) => part.startsWith(folder));
  } catch {
    return false; // Gone, or no /proc to prove it is ours: never signal a stranger.
  }
}

/**
 * After a crash or `kill -9`: runs still marked `running` or `queued` become `interrupted`, a playbook that outlived
 * the daemon is killed, SSH masters are closed and the secret files of every run folder are removed.
 */
export async function recoverRuns(
  runs: RunStore,
  runsFolder: string,
  log: ScopedLogger,
  notify: (id: string, project: string, status: RunStatus) => void,
): Promise<number> {
  const left = await runs.withStatus(['running', 'queued']);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const run of left) {
    if (run.pid !== null && isRunProcess(run.pid, run.folder)) killGroup(run.pid, 'SIGKILL');
    const folder = new RunFolder(run.folder);
    await closeMasters(folder.controlSockets(), env);
    folder.removeSecrets();
    if (fs.existsSync(folder.path)) {
      folder.appendLog([`[zavhoz] run interrupted: the daemon stopped while it was ${run.status}; its secret files were removed.`]);
    }
    await runs.update(run.id, {
      status: 'interrupted',
      finishedAt: new Date().toISOString(),
      pid: null,
      error: `The daemon stopped while this run was ${run.status} (crash or kill); its secret files were removed. Deploy again.`,
    });
    notify(run.id, run.project, 'interrupted');
    log.warn('deploy run interrupted by a daemon restart', { run: run.id, project: run.project });
  }
  // Belt and braces: no run folder keeps a secret file, whatever its status says.
  let names: string[] = [];
  try {
    names = fs.readdirSync(runsFolder);
  } catch {
    names = [];
  }
  for (const name of names) {
    const folder = new RunFolder(path.join(runsFolder, name));
    if (folder.hasSecrets() && !left.some((run) => run.folder === folder.path)) folder.removeSecrets();
  }
  return left.length;
}
