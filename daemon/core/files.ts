import fs from 'node:fs';
import path from 'node:path';

/** Mode for every file in the data folder: readable and writable by the user only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode for every folder Zavhoz creates. */
export const PRIVATE_FOLDER_MODE = 0o700;

/** Creates a folder (and parents) private to the user, tightening the mode if it already existed. */
export function ensurePrivateFolder(folder: string): void {
  fs.mkdirSync(folder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  fs.chmodSync(folder, PRIVATE_FOLDER_MODE);
}

/**
 * Writes a file so that readers see either the old or the new content, never half of it, and the new content
 * survives a power cut once this returns: temp file, fsync, rename, fsync of the folder.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, 'w', PRIVATE_FILE_MODE);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
  syncFolder(path.dirname(file));
}

/** Makes a rename or unlink in a folder durable. */
export function syncFolder(folder: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes a file if it exists. */
export function removeIfExists(file: string): void {
  fs.rmSync(file, { force: true });
}
