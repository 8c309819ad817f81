import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZavhozError } from '../core/errors.js';
import { ensurePrivateFolder, PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../core/files.js';
import { ErrorCodes } from '../protocol/errors.js';

/** The files of one run's private folder (0700, under the data folder's `runs/`). */
export const RUN_FILES = {
  /** Kept: the redacted output of the whole run. */
  log: 'run.log',
  /** Kept: the playbook and Ansible settings used. */
  playbook: 'deploy_project.yml',
  config: 'ansible.cfg',
  /** Kept: the callback plugin that reports each task's declared step (found by Ansible beside the playbook). */
  stepsPlugin: 'callback_plugins/zavhoz_steps.py',
  /** Kept: the action plugin of the health check (found by Ansible beside the playbook). */
  healthPlugin: 'action_plugins/zavhoz_http_check.py',
  /**
   * Kept: tasks the playbook includes only when they run (an ordinary redeploy skips each file in one task): what
   * its first task found wrong, the images and containers (an unchanged redeploy skips them), within them the
   * registry login and pull, and what follows the health checks.
   */
  prepareFailed: 'deploy_prepare_failed.yml',
  containers: 'deploy_containers.yml',
  beforeUp: 'deploy_before_up.yml',
  afterHealth: 'deploy_after_health.yml',
  /** Kept: the tasks of a zero-downtime switchover behind the proxy, included by the playbook. */
  switchStart: 'proxy_switch_start.yml',
  switchFinish: 'proxy_switch_finish.yml',
  /** Kept: host, port, user and file paths; no secret. */
  inventory: 'inventory.yml',
  /** Secret (0600): every value the playbook writes. Removed when the run ends. */
  extraVars: 'extra-vars.json',
  /** Secret (0600): the SSH private key. Removed when the run ends. */
  sshKey: 'id_key',
  /** The pinned host key for OpenSSH. Removed with the temporary folders below. */
  knownHosts: 'known_hosts',
  /**
   * Where this run's SSH control sockets live: a file holding the path of a short private folder outside the
   * data folder, because a socket path may not exceed 104–108 bytes and `<data folder>/runs/<id>/cp/<hash>` plus
   * ssh's temporary suffix does for any data folder longer than ~34 characters.
   */
  controlPointer: 'control-dir',
  /** Ansible's temp and home (see playbooks/ansible.cfg). */
  tmp: 'tmp',
  home: 'ansible-home',
} as const;

/** The files every run folder gets a copy of from playbooks/: the playbook, the files it includes, its config and plugins. */
export const PLAYBOOK_FILES: readonly string[] = [
  RUN_FILES.playbook,
  RUN_FILES.prepareFailed,
  RUN_FILES.containers,
  RUN_FILES.beforeUp,
  RUN_FILES.afterHealth,
  RUN_FILES.switchStart,
  RUN_FILES.switchFinish,
  RUN_FILES.config,
  RUN_FILES.stepsPlugin,
  RUN_FILES.healthPlugin,
];

/** Everything removed when a run ends, whatever the outcome: secrets first. */
const REMOVED_AT_END = [RUN_FILES.extraVars, RUN_FILES.sshKey, RUN_FILES.knownHosts, RUN_FILES.tmp, RUN_FILES.home];

/** A short base for control-socket folders: the temp folder when its path is short (not macOS's), else /tmp. */
function controlBase(): string {
  const temporary = os.tmpdir();
  return temporary.length <= 24 || process.platform === 'win32' ? temporary : '/tmp';
}

/** The folder holding `deploy_project.yml` and `ansible.cfg`: beside the bundle (dist/..) or the repository's. */
export function playbooksFolder(): string {
  let folder = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    const candidate = path.join(folder, 'playbooks');
    if (fs.existsSync(path.join(candidate, RUN_FILES.playbook))) return candidate;
    folder = path.dirname(folder);
  }
  throw new ZavhozError(ErrorCodes.PreconditionFailed, `playbooks/${RUN_FILES.playbook} is missing beside the Zavhoz daemon; reinstall Zavhoz.`);
}

/** A run's private folder and the files the daemon writes into it. */
export class RunFolder {
  constructor(readonly path: string) {}

  /** Creates the folder (0700) with a copy of the playbook, its ansible.cfg and plugins, and an empty run.log. */
  static create(runsRoot: string, runId: string): RunFolder {
    ensurePrivateFolder(runsRoot);
    const folder = new RunFolder(path.join(runsRoot, runId));
    fs.mkdirSync(folder.path, { mode: PRIVATE_FOLDER_MODE });
    fs.chmodSync(folder.path, PRIVATE_FOLDER_MODE);
    const source = playbooksFolder();
    for (const name of PLAYBOOK_FILES) {
      fs.mkdirSync(path.dirname(folder.file(name)), { recursive: true, mode: PRIVATE_FOLDER_MODE });
      fs.copyFileSync(path.join(source, name), folder.file(name));
      fs.chmodSync(folder.file(name), PRIVATE_FILE_MODE);
    }
    fs.closeSync(fs.openSync(folder.file(RUN_FILES.log), 'a', PRIVATE_FILE_MODE));
    fs.mkdirSync(folder.file(RUN_FILES.tmp), { mode: PRIVATE_FOLDER_MODE });
    const controlDir = fs.mkdtempSync(path.join(controlBase(), 'zavhoz-cp-'));
    fs.chmodSync(controlDir, PRIVATE_FOLDER_MODE);
    folder.writePrivate(RUN_FILES.controlPointer, controlDir);
    return folder;
  }

  /** The path of a file in the folder. */
  file(name: string): string {
    return path.join(this.path, name);
  }

  /** Writes a new file readable by the user only; refuses to follow or reuse an existing one. */
  writePrivate(name: string, content: string): string {
    const file = this.file(name);
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, content, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    return file;
  }

  /** Appends lines to run.log (already redacted by the caller). */
  appendLog(lines: readonly string[]): void {
    if (lines.length === 0) return;
    fs.appendFileSync(this.file(RUN_FILES.log), `${lines.join('\n')}\n`, { mode: PRIVATE_FILE_MODE });
  }

  /** Log lines from `from` on, and the number of lines in the log. */
  readLog(from: number): { lines: string[]; total: number } {
    let text: string;
    try {
      text = fs.readFileSync(this.file(RUN_FILES.log), 'utf8');
    } catch {
      return { lines: [], total: 0 };
    }
    const all = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    return { lines: all.slice(from), total: all.length };
  }

  /** The run's private folder of SSH control sockets (see RUN_FILES.controlPointer). */
  get controlDir(): string {
    try {
      const recorded = fs.readFileSync(this.file(RUN_FILES.controlPointer), 'utf8').trim();
      if (path.isAbsolute(recorded) && path.basename(recorded).startsWith('zavhoz-cp-')) return recorded;
    } catch {
      // A run folder from before control folders moved out: its sockets were inside it.
    }
    return this.file('cp');
  }

  /** Control sockets of SSH masters still open for this run. */
  controlSockets(): string[] {
    const folder = this.controlDir;
    try {
      return fs.readdirSync(folder).map((name) => path.join(folder, name));
    } catch {
      return [];
    }
  }

  /** Removes the secret and temporary files; what stays is run.log, the playbook, ansible.cfg and the inventory. */
  removeSecrets(): void {
    fs.rmSync(this.controlDir, { recursive: true, force: true });
    for (const name of [...REMOVED_AT_END, RUN_FILES.controlPointer]) fs.rmSync(this.file(name), { recursive: true, force: true });
  }

  /** True if the file exists in the folder. */
  has(name: string): boolean {
    return fs.existsSync(this.file(name));
  }

  /** True if a secret file is still there (used by start-up recovery and tests). */
  hasSecrets(): boolean {
    return [RUN_FILES.extraVars, RUN_FILES.sshKey].some((name) => fs.existsSync(this.file(name)));
  }
}

/** Quotes a value for the shlex-style splitting Ansible applies to `ansible_ssh_common_args`. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'"'"'`)}'`;
}
