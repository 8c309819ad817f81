/**
 * Installs the `docker` TEST DOUBLE (test/fakes/docker) in a private bin folder, and reads back what it recorded.
 * The deploy tests run on the real container engine (test/harness/engine.ts); the double remains for what the
 * engine cannot be made to do (a backend that answers 503 to its first requests, in deploy-playbook.test.ts) and
 * for the end-to-end tests' deploy target (test/e2e/deployTarget.ts), not moved yet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { installScript } from './scriptDouble.js';

const SCRIPT = path.resolve(import.meta.dirname, 'docker');

/** One recorded `docker …` call. */
export interface DockerCall {
  readonly args: readonly string[];
  readonly cwd: string;
  readonly at: string;
  /** For `login --password-stdin`: SHA-256 of what arrived on stdin (never the value). */
  readonly stdinSha256?: string;
}

/** A docker double installed in its own folder. */
export interface DockerDouble {
  /** Put this first on the target's PATH. */
  readonly binFolder: string;
  /** Every call so far, oldest first. */
  calls(): DockerCall[];
  /** Makes `docker compose pull` take this long (0: instant). */
  setPullDelay(seconds: number): void;
  /** Servers that later `compose up` calls start answer 503 to their first `count` requests, then 200. */
  setUnhealthyRequests(count: number): void;
  /** Stops the stand-in HTTP servers `compose up` started. */
  stopServers(): void;
  /** Stops the servers and removes the folder. */
  remove(): void;
}

/** Copies the double into a new private folder as `docker`. */
export function installDockerDouble(): DockerDouble {
  const installed = installScript(SCRIPT, 'docker');
  const { binFolder, stateFolder: state } = installed;
  // One file for every setting: each setter changes its own key and keeps the others.
  const configFile = path.join(state, 'config.json');
  const configure = (settings: Readonly<Record<string, number>>): void => {
    const current = fs.existsSync(configFile) ? (JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, number>) : {};
    // Written aside and renamed into place: a double starting now reads the old settings or the new, never half.
    const staged = `${configFile}.${process.pid}.tmp`;
    fs.writeFileSync(staged, JSON.stringify({ ...current, ...settings }));
    fs.renameSync(staged, configFile);
  };
  const stopServers = (): void => {
    const folder = path.join(state, 'servers');
    for (const name of fs.existsSync(folder) ? fs.readdirSync(folder) : []) {
      try {
        process.kill(Number(fs.readFileSync(path.join(folder, name), 'utf8')), 'SIGKILL');
      } catch {
        // Already gone.
      }
      fs.rmSync(path.join(folder, name), { force: true });
    }
  };
  return {
    binFolder,
    calls: () => installed.calls<DockerCall>(),
    setPullDelay(seconds) {
      configure({ pullDelaySeconds: seconds });
    },
    setUnhealthyRequests(count) {
      configure({ unhealthyRequests: count });
    },
    stopServers,
    remove() {
      stopServers();
      fs.rmSync(binFolder, { recursive: true, force: true });
    },
  };
}
