import fs from 'node:fs';
import path from 'node:path';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';

/** The file vault's master key and how the user gave it (named in every message about it). */
export interface MasterKey {
  readonly value: string;
  /** `ZAVHOZ_MASTER_KEY`, or `ZAVHOZ_MASTER_KEY_FILE (path)`. */
  readonly source: string;
}

/** Longest key file read: a master key is one line, so anything bigger is the wrong file. */
const MAX_KEY_FILE_BYTES = 4096;

/**
 * Picks the master key from what the daemon was started with: the key file (preferred) or the variable. Both at
 * once is refused rather than guessed between; neither is a clear error saying what to set.
 */
export function chooseMasterKey(fromVariable: string | undefined, keyFile: string | undefined): MasterKey {
  const hasVariable = fromVariable !== undefined && fromVariable !== '';
  const hasFile = keyFile !== undefined && keyFile.trim() !== '';
  if (hasVariable && hasFile) {
    throw new ZavhozError(
      ErrorCodes.VaultKeyInvalid,
      'Both ZAVHOZ_MASTER_KEY_FILE and ZAVHOZ_MASTER_KEY are set: keep one (ZAVHOZ_MASTER_KEY_FILE is preferred), then restart the daemon (zavhoz daemon stop).',
    );
  }
  if (hasFile) return { value: readMasterKeyFile(keyFile), source: `ZAVHOZ_MASTER_KEY_FILE (${keyFile})` };
  if (hasVariable) return { value: fromVariable, source: 'ZAVHOZ_MASTER_KEY' };
  throw new ZavhozError(
    ErrorCodes.VaultKeyInvalid,
    "ZAVHOZ_VAULT=file needs ZAVHOZ_MASTER_KEY_FILE (the path of a file only you can read, chmod 600, holding the key) or ZAVHOZ_MASTER_KEY in the daemon's environment: stop the daemon (zavhoz daemon stop) and start it again with one of them set.",
  );
}

/**
 * Reads a master key file, refusing one that others could read or that belongs to someone else: the key opens
 * every secret in the vault, so a world-readable copy would undo the encryption. The checks are made on the open
 * file, not the path, so the file cannot be swapped between check and read. A final newline (as `openssl rand
 * -base64 32 > file` leaves) is not part of the key. Windows has no POSIX modes; there the folder's ACL decides.
 */
export function readMasterKeyFile(keyFile: string): string {
  const fix = `Run \`chmod 600 ${keyFile}\` as the user the daemon runs as, then restart the daemon (zavhoz daemon stop).`;
  if (!path.isAbsolute(keyFile)) {
    throw keyError(`ZAVHOZ_MASTER_KEY_FILE must be an absolute path (the daemon may start in any folder); got "${keyFile}".`);
  }
  let fd: number;
  try {
    fd = fs.openSync(keyFile, 'r');
  } catch (error) {
    throw keyError(`The master key file ${keyFile} (ZAVHOZ_MASTER_KEY_FILE) cannot be read: ${(error as Error).message}. Check the path, then restart the daemon.`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw keyError(`The master key file ${keyFile} (ZAVHOZ_MASTER_KEY_FILE) is not a regular file.`);
    if (process.platform !== 'win32') {
      const uid = process.getuid?.();
      if (uid !== undefined && stat.uid !== uid) {
        throw keyError(`The master key file ${keyFile} belongs to uid ${stat.uid}, not to the user the daemon runs as (uid ${uid}); refusing to use it. Give it to that user (chown), then restart the daemon.`);
      }
      const mode = stat.mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw keyError(`The master key file ${keyFile} has mode ${mode.toString(8).padStart(4, '0')}: users other than its owner have access to it, so it is refused. It must be 0600 or stricter. ${fix}`);
      }
    }
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw keyError(`The master key file ${keyFile} is ${stat.size} bytes; a master key file holds one line (e.g. the output of "openssl rand -base64 32"). Check ZAVHOZ_MASTER_KEY_FILE.`);
    }
    const key = fs.readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    if (key === '') throw keyError(`The master key file ${keyFile} is empty. Put the key in it (e.g. "openssl rand -base64 32 > ${keyFile}").`);
    return key;
  } finally {
    fs.closeSync(fd);
  }
}

function keyError(message: string): ZavhozError {
  return new ZavhozError(ErrorCodes.VaultKeyInvalid, message);
}
