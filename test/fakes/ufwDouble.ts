/**
 * Installs the `ufw` TEST DOUBLE (test/fakes/ufw) in a private bin folder, and reads back what it recorded. The
 * deploy tests must not touch the test machine's real firewall; everything else in them is real.
 */
import fs from 'node:fs';
import path from 'node:path';
import { installScript } from './scriptDouble.js';

const SCRIPT = path.resolve(import.meta.dirname, 'ufw');

/** What `ufw status` reports: inactive, active, or (as for a user without root) an error. */
export type UfwState = 'inactive' | 'active' | 'needs-root';

/** A ufw double installed in its own folder. */
export interface UfwDouble {
  /** Put this on the target's PATH. */
  readonly binFolder: string;
  /** The arguments of every call so far, oldest first. */
  calls(): string[][];
  /** The `allow PORT/tcp` rules it holds now (added by `allow`, removed by `delete allow`). */
  rules(): string[];
  /** What later calls report; the double starts `inactive`. */
  setState(state: UfwState): void;
  /** Removes the folder. */
  remove(): void;
}

/** Copies the double into a new private folder as `ufw`. */
export function installUfwDouble(): UfwDouble {
  const installed = installScript(SCRIPT, 'ufw');
  const { binFolder, stateFolder: state } = installed;
  return {
    binFolder,
    calls: () => installed.calls<{ args: string[] }>().map((call) => call.args),
    rules() {
      try {
        return JSON.parse(fs.readFileSync(path.join(state, 'rules.json'), 'utf8')) as string[];
      } catch {
        return [];
      }
    },
    setState(firewall) {
      fs.writeFileSync(path.join(state, 'config.json'), JSON.stringify({ state: firewall }));
    },
    remove() {
      fs.rmSync(binFolder, { recursive: true, force: true });
    },
  };
}
