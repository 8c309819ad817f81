import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE, syncFolder } from '../core/files.js';

/** A value SQLite can bind. */
export type SqlValue = string | number | null | Uint8Array;

/** One statement of a committed transaction, as replayed on start. */
export type JournalOperation = readonly [sql: string, params: readonly SqlValue[]];

/** One committed transaction. */
export interface JournalRecord {
  readonly seq: number;
  readonly operations: readonly JournalOperation[];
}

/** What was read back from a journal file. */
export interface JournalContents {
  readonly records: JournalRecord[];
  /** Bytes taken by the valid records; anything after them is zero padding or a torn record. */
  readonly validBytes: number;
  /** Bytes of a torn final record (a crash mid-append, never acknowledged) that were cut off. */
  readonly discardedTailBytes: number;
}

/**
 * The journal grows in zero-filled steps of this size. Overwriting blocks that already exist lets fdatasync skip
 * the file-size metadata commit that an append forces (measured: ~0.05 ms of a ~0.2 ms sync).
 */
export const JOURNAL_GROWTH_BYTES = 1024 * 1024;

/** Raised when the journal is damaged somewhere other than its unacknowledged tail. */
export class JournalCorruptError extends Error {}

/**
 * An append-only log of committed transactions. Each record is one line, `<checksum> <json>`, fdatasync'ed before
 * the write is acknowledged, so its cost does not depend on the database size. A torn last line is the one
 * write that was never acknowledged; anything else that does not check out means the file is damaged.
 */
export class Journal {
  private fd: number;
  private bytes: number;
  private allocated: number;
  /** Set while the folder's entries (this file's name, a new snapshot's) may not be durable yet. */
  private folderPending = false;
  /** Why the background folder sync failed: no append is acknowledged after it. */
  private folderError: Error | undefined;

  private constructor(
    private readonly file: string,
    fd: number,
    bytes: number,
    allocated: number,
  ) {
    this.fd = fd;
    this.bytes = bytes;
    this.allocated = allocated;
  }

  /** Opens (creating if needed) the journal, returning it with its records. A torn tail is cut off. */
  static open(file: string): { journal: Journal; contents: JournalContents } {
    const contents = readJournal(file);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, PRIVATE_FILE_MODE);
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    let allocated = fs.fstatSync(fd).size;
    if (contents.discardedTailBytes > 0) {
      // Drop the torn record (and any padding after it); the next append grows the file again.
      fs.ftruncateSync(fd, contents.validBytes);
      fs.fsyncSync(fd);
      allocated = contents.validBytes;
    }
    return { journal: new Journal(file, fd, contents.validBytes, allocated), contents };
  }

  /** Size in bytes, used to decide when to fold the journal into a snapshot. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Makes the folder's entries durable (this file's name after it was created, a new folder's snapshot) without
   * holding up the start: the folder is synced on Node's thread pool, and an append that comes first syncs it itself
   * before its record counts as durable; so does `close`. A start waited 3–12 ms for that sync before its first
   * answer. Called at every open, not only when the store created a file: a daemon that created them may have ended
   * before its sync did. Resolves once the background sync has ended (a failure is kept for the next append).
   */
  syncFolderSoon(): Promise<void> {
    if (process.platform === 'win32') return Promise.resolve();
    this.folderPending = true;
    return new Promise((resolve) => {
      fs.open(path.dirname(this.file), 'r', (openError, fd) => {
        // Not synced (no descriptor to spare, say): the next append syncs the folder itself, and reports what fails.
        if (openError) {
          resolve();
          return;
        }
        fs.fsync(fd, (syncError) => {
          fs.close(fd, () => resolve());
          // Linux reports a write-back error to one fsync only: a sync retried after this one could succeed without
          // the entries being on disk, so the error stays and every append refuses until the daemon starts again.
          if (syncError) this.folderError = syncError;
          else this.folderPending = false;
        });
      });
    });
  }

  /** Appends one record durably. On failure the file is cut back so no half record stays behind. */
  append(record: JournalRecord): void {
    this.ensureFolderDurable();
    const line = Buffer.from(encodeRecord(record));
    if (this.bytes + line.length > this.allocated) this.grow(this.bytes + line.length);
    try {
      let written = 0;
      while (written < line.length) {
        written += fs.writeSync(this.fd, line, written, line.length - written, this.bytes + written);
      }
      fs.fdatasyncSync(this.fd);
    } catch (error) {
      try {
        fs.ftruncateSync(this.fd, this.bytes);
        this.allocated = this.bytes;
      } catch {
        // If even the truncate fails the torn tail is detected and cut on the next start.
      }
      throw error;
    }
    this.bytes += line.length;
  }

  /** Empties the journal once a snapshot holds everything in it. */
  reset(): void {
    fs.ftruncateSync(this.fd, 0);
    fs.fsyncSync(this.fd);
    this.bytes = 0;
    this.allocated = 0;
  }

  /** Extends the file with zeros (durably, size included) so later appends overwrite existing blocks. */
  private grow(needed: number): void {
    const target = Math.ceil(needed / JOURNAL_GROWTH_BYTES) * JOURNAL_GROWTH_BYTES;
    const zeros = Buffer.alloc(Math.min(target - this.allocated, JOURNAL_GROWTH_BYTES));
    for (let offset = this.allocated; offset < target; offset += zeros.length) {
      fs.writeSync(this.fd, zeros, 0, Math.min(zeros.length, target - offset), offset);
    }
    fs.fsyncSync(this.fd);
    this.allocated = target;
  }

  /** Closes the file. */
  close(): void {
    try {
      if (this.folderPending && this.folderError === undefined) this.ensureFolderDurable();
    } finally {
      fs.closeSync(this.fd);
    }
  }

  /** Syncs the folder here, unless the background sync has done it; refuses if it failed. */
  private ensureFolderDurable(): void {
    if (this.folderError !== undefined) {
      throw new Error(`the data folder could not be synced to disk (${this.folderError.message}); restart the daemon once the disk is healthy`);
    }
    if (!this.folderPending) return;
    syncFolder(path.dirname(this.file));
    this.folderPending = false;
  }

  /** The path, for error messages. */
  get path(): string {
    return this.file;
  }
}

function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify({ seq: record.seq, ops: record.operations.map(([sql, params]) => [sql, params.map(encodeValue)]) });
  return `${checksum(json)} ${json}\n`;
}

function encodeValue(value: SqlValue): unknown {
  return value instanceof Uint8Array ? { $b: Buffer.from(value).toString('base64') } : value;
}

function decodeValue(value: unknown): SqlValue {
  if (value === null || typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'object' && typeof (value as { $b?: unknown }).$b === 'string') {
    return new Uint8Array(Buffer.from((value as { $b: string }).$b, 'base64'));
  }
  throw new JournalCorruptError('unexpected value type');
}

function checksum(json: string): string {
  return crypto.createHash('sha256').update(json).digest('hex').slice(0, 16);
}

/** Reads a journal file: its valid records, and how much of a torn tail follows them. */
export function readJournal(file: string): JournalContents {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], validBytes: 0, discardedTailBytes: 0 };
    throw error;
  }
  // Records are JSON text, which never holds a NUL byte: the first NUL is where the zero padding starts.
  const end = raw.indexOf(0);
  const text = (end === -1 ? raw : raw.subarray(0, end)).toString('utf8');
  const records: JournalRecord[] = [];
  let offset = 0;
  let lineNumber = 0;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    lineNumber++;
    if (end === -1) {
      // A record without its newline was being appended when the process died: never acknowledged.
      return { records, validBytes: Buffer.byteLength(text.slice(0, offset)), discardedTailBytes: Buffer.byteLength(text.slice(offset)) };
    }
    const line = text.slice(offset, end);
    const record = parseLine(line);
    if (!record) {
      const isLast = end === text.length - 1;
      if (isLast) {
        return { records, validBytes: Buffer.byteLength(text.slice(0, offset)), discardedTailBytes: Buffer.byteLength(text.slice(offset)) };
      }
      throw new JournalCorruptError(`record ${lineNumber} is damaged`);
    }
    const previous = records.at(-1);
    if (previous && record.seq !== previous.seq + 1) {
      throw new JournalCorruptError(`record ${lineNumber} has sequence ${record.seq} after ${previous.seq}`);
    }
    records.push(record);
    offset = end + 1;
  }
  return { records, validBytes: Buffer.byteLength(text), discardedTailBytes: 0 };
}

function parseLine(line: string): JournalRecord | undefined {
  const space = line.indexOf(' ');
  if (space !== 16) return undefined;
  const json = line.slice(space + 1);
  if (checksum(json) !== line.slice(0, space)) return undefined;
  try {
    const parsed = JSON.parse(json) as { seq: number; ops: [string, unknown[]][] };
    return {
      seq: parsed.seq,
      operations: parsed.ops.map(([sql, params]) => [sql, params.map(decodeValue)] as const),
    };
  } catch {
    return undefined;
  }
}
