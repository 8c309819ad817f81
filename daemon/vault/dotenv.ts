import { invalidInput } from '../core/errors.js';
import { EnvFileError, readEnvFile } from '../protocol/envReferences.js';
import { SECRET_NAME_PATTERN } from '../protocol/secretFields.js';

/** One variable read from a `.env` file. */
export interface DotenvEntry {
  readonly name: string;
  readonly value: string;
  /** 1-based line where the variable starts, for error messages. */
  readonly line: number;
}

/** The longest name the vault stores. */
const MAX_NAME_LENGTH = 128;

/**
 * The variables of a `.env` text to import, read by the one `.env` reader ({@link readEnvFile}, the syntax of
 * `gh secret set -f`), so an import reads a file exactly as `zavhoz exec --env-file` and the rewrite to references
 * do. On top of it: names must be secret names (A–Z, 0–9, _), and a later definition of a name replaces an earlier
 * one. Errors give the line, never the text of the line (it may be a value).
 */
export function parseDotenv(content: string): DotenvEntry[] {
  let read;
  try {
    read = readEnvFile(content);
  } catch (error) {
    if (error instanceof EnvFileError) throw invalidInput(`${error.message} Nothing was imported.`);
    throw error;
  }
  const entries = new Map<string, DotenvEntry>();
  for (const { name, value, line } of read) {
    if (!SECRET_NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH) {
      throw invalidInput(`.env line ${line}: the name is not a valid environment variable name (A–Z, 0–9, _; not starting with a digit). Nothing was imported.`);
    }
    entries.delete(name);
    entries.set(name, { name, value, line });
  }
  return [...entries.values()];
}
