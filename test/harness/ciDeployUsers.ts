/**
 * Cleanup for tests that push CI secrets to a test host that is this machine: Zavhoz creates a real Linux user per
 * project there (daemon/cikey/), with a sudoers rule and a home under /var/lib/zavhoz-ci. This removes them.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { deployUserOf } from '../../daemon/cikey/remote.js';

/** Removes the CI deploy user of `project` from this machine (its processes, account, home, sudoers rule, environment file); never throws. */
export function removeCiDeployUser(project: string): void {
  const user = deployUserOf(project);
  for (const [command, args] of [['pkill', ['-KILL', '-u', user]], ['userdel', [user]]] as const) {
    try {
      execFileSync(command, [...args], { stdio: 'ignore' });
    } catch {
      // Not there (already removed, or never created): nothing to do.
    }
  }
  fs.rmSync(`/etc/sudoers.d/zavhoz-ci-${user}`, { force: true });
  fs.rmSync(`/etc/zavhoz/ci-deploy/${project}.env`, { force: true });
  fs.rmSync(`/var/lib/zavhoz-ci/${user}`, { recursive: true, force: true });
}
