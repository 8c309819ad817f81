import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { syncFolder } from '../core/files.js';

/**
 * Replaces a user's file (a `.env` being rewritten with references) so that it holds either the old text or the
 * new, whatever happens: a temporary file in the same folder with the same mode, synced, renamed over the file (the
 * file a symbolic link points to, which stays a link), then the folder synced. On failure the file is untouched and
 * the temporary file removed.
 */
export function replaceFileAtomically(file: string, text: string): void {
  const target = fs.realpathSync(file);
  const mode = fs.statSync(target).mode & 0o7777;
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.zavhoz-${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(temporary, 'wx', mode);
    try {
      fs.fchmodSync(fd, mode);
      fs.writeSync(fd, Buffer.from(text));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, target);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  syncFolder(path.dirname(target));
}
