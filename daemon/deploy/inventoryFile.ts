import type { DeployTarget } from './ports.js';
import { sshOptions } from './preflight.js';
import { RUN_FILES, type RunFolder, shellQuote } from './runFolder.js';

/**
 * The run's Ansible inventory: one host, `target`, with its address, login and the run's key, known_hosts and
 * OpenSSH options. Paths and names only, so it is kept after the run.
 */
export function inventoryFor(target: DeployTarget, folder: RunFolder): string {
  const files = {
    key: folder.file(RUN_FILES.sshKey),
    knownHosts: folder.file(RUN_FILES.knownHosts),
    controlDir: folder.controlDir,
  };
  const inventory = {
    all: {
      hosts: {
        target: {
          ansible_host: target.host,
          ansible_port: target.sshPort,
          ansible_user: target.sshUser,
          ansible_ssh_private_key_file: files.key,
          ansible_ssh_common_args: sshOptions(files).map(shellQuote).join(' '),
        },
      },
    },
  };
  // JSON is YAML: Ansible's yaml inventory plugin reads it, and no string needs YAML quoting rules.
  return `${JSON.stringify(inventory, null, 2)}\n`;
}
