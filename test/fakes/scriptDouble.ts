/**
 * The shared part of the command-line TEST DOUBLES (docker, ufw): a script copied into a private bin folder under
 * the name of the command it stands in for, with a state folder beside it where it records its calls.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A script double installed in its own folder. */
export interface InstalledScript {
  /** Put this first on the target's PATH. */
  readonly binFolder: string;
  /** Where the script keeps its settings and records (`<command>-state` beside it). */
  readonly stateFolder: string;
  /** The JSON lines the script appended to `calls.jsonl`, oldest first. */
  calls<T>(): T[];
}

/** Copies `script` into a new private folder as `command`, executable, with an empty state folder. */
export function installScript(script: string, command: string): InstalledScript {
  const binFolder = fs.mkdtempSync(path.join(os.tmpdir(), `zavhoz-${command}-double-`));
  fs.chmodSync(binFolder, 0o755);
  fs.copyFileSync(script, path.join(binFolder, command));
  fs.chmodSync(path.join(binFolder, command), 0o755);
  const stateFolder = path.join(binFolder, `${command}-state`);
  fs.mkdirSync(stateFolder, { recursive: true });
  return {
    binFolder,
    stateFolder,
    calls<T>(): T[] {
      const file = path.join(stateFolder, 'calls.jsonl');
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as T);
    },
  };
}
