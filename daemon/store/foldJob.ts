import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE, removeIfExists, syncFolder } from '../core/files.js';
import { JOURNAL_GROWTH_BYTES } from './journal.js';
import { type FoldRequest, keepPrevious, recordSnapshotChecksum, writeFoldedSnapshot } from './snapshotFile.js';

/**
 * What a fold worker (foldWorker.ts) does from start to end: build the next snapshot, put it in place, and prepare
 * the journal the next fold starts with. All of it runs on the worker's thread: the renames, syncs and checksum file
 * of putting a snapshot in place took the daemon's thread a millisecond or more per fold (on a disk, a folder sync
 * alone is as long as a durable write), and a write that arrived meanwhile waited for them.
 *
 * The daemon's thread may write a full snapshot of its own at any time (Store.snapshot: on close, or after a fold
 * that failed); the worker's older snapshot must then never land after it. One shared integer decides which of the
 * two goes first (see {@link abandonFold}).
 */

/** The fold's state, one Int32 shared by the daemon's thread and the worker. */
export type FoldState = Int32Array;

/** The worker is building the snapshot; the daemon may still abandon it. */
const BUILDING = 0;
/** The worker is putting its snapshot in place; the daemon waits for it before writing one of its own. */
const INSTALLING = 1;
/** The daemon gave the fold up: the worker must not put anything in place. */
const ABANDONED = 2;
/** The worker put its snapshot in place (or failed doing so), or is gone. */
const ENDED = 3;

/** A new fold's state, to share with its worker. */
export function newFoldState(): FoldState {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/**
 * The daemon's thread gives the fold up (it is about to write a snapshot holding more). If the worker is putting its
 * snapshot in place at that moment, this waits until it has (a handful of file operations): nothing of the fold may
 * happen after the caller's own snapshot. Returns at once in every other case; afterwards the worker installs nothing.
 */
export function abandonFold(state: FoldState): void {
  if (Atomics.compareExchange(state, 0, BUILDING, ABANDONED) !== INSTALLING) return;
  while (Atomics.load(state, 0) === INSTALLING) Atomics.wait(state, 0, INSTALLING);
}

/**
 * The worker is gone (exited, or failed with an error it did not catch), so it runs no more of an install: a daemon
 * thread that abandons the fold after this never waits for it. Files an install cut short leave are ones a start reads.
 */
export function foldWorkerGone(state: FoldState): void {
  endInstall(state);
}

/** The worker takes the right to put its snapshot in place; false once the daemon's thread abandoned the fold. */
export function claimInstall(state: FoldState): boolean {
  return Atomics.compareExchange(state, 0, BUILDING, INSTALLING) === BUILDING;
}

/** The worker is done putting its snapshot in place (or failed to): a daemon thread waiting in abandonFold goes on. */
export function endInstall(state: FoldState): void {
  Atomics.store(state, 0, ENDED);
  Atomics.notify(state, 0);
}

/** What the daemon's thread asks a fold worker to do. */
export interface FoldJob extends FoldRequest {
  /** The journal the daemon appends to (the next fold's prepared journal is made beside it). */
  readonly journal: string;
  /** The renamed journal being folded: removed once the snapshot holding its records is in place. */
  readonly folding: string;
  /** The sequence the snapshot must hold: the last record of `folding`. */
  readonly seq: number;
  readonly state: FoldState;
}

/** What a fold worker answers. */
export interface FoldAnswer {
  /** True when the snapshot is in place. */
  readonly ok: boolean;
  /** Why not, when it is not (never a value from the database). */
  readonly message?: string;
}

/** The steps of putting a built snapshot in place, in their order (exported so tests can crash between them). */
export function installSteps(job: FoldJob, checksum: string): readonly (() => void)[] {
  const folder = path.dirname(job.database);
  return [
    () => keepPrevious(job.database),
    () => fs.renameSync(job.output, job.database),
    () => syncFolder(folder),
    () => recordSnapshotChecksum(job.database, checksum),
    // Once the snapshot is in place the renamed journal only holds records it has; a crash before this unlink
    // leaves them to be skipped by sequence.
    () => removeIfExists(job.folding),
  ];
}

/** Builds the snapshot `job` asks for and puts it in place unless the daemon abandoned the fold meanwhile. */
export async function runFoldJob(job: FoldJob): Promise<FoldAnswer> {
  try {
    const { seq, checksum } = await writeFoldedSnapshot(job);
    if (seq !== job.seq) throw new Error(`the folded snapshot holds sequence ${seq}, not ${job.seq}`);
    if (!claimInstall(job.state)) {
      removeIfExists(job.output);
      return { ok: false, message: 'abandoned' };
    }
    try {
      for (const step of installSteps(job, checksum)) step();
    } finally {
      endInstall(job.state);
    }
  } catch (error) {
    removeIfExists(job.output);
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  try {
    prepareNextJournal(job.journal);
  } catch {
    // Not needed for the snapshot: a fold that finds no prepared journal starts an empty one.
  }
  return { ok: true };
}

/**
 * The journal the next fold starts with, prepared by this one's worker: already zero-filled to the journal's first
 * growth step and synced, so the first write after a fold does not extend the file (a megabyte written and synced on
 * that write's path: ~30 ms on a disk, where a write takes 2–10). Its name is made durable when the fold renames it
 * into place and syncs the folder. A start removes one left behind (it cannot tell a finished one).
 */
export function nextJournalOf(journal: string): string {
  return `${journal}.next`;
}

/** Where the prepared journal is written before it is renamed to its name: one daemon uses a folder at a time. */
function preparingJournalOf(journal: string): string {
  return `${nextJournalOf(journal)}.tmp`;
}

function prepareNextJournal(journal: string): void {
  const preparing = preparingJournalOf(journal);
  try {
    const fd = fs.openSync(preparing, 'w', PRIVATE_FILE_MODE);
    try {
      const zeros = Buffer.alloc(JOURNAL_GROWTH_BYTES);
      let written = 0;
      while (written < zeros.length) written += fs.writeSync(fd, zeros, written, zeros.length - written, written);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(preparing, nextJournalOf(journal));
  } catch (error) {
    fs.rmSync(preparing, { force: true });
    throw error;
  }
}

/** Removes a prepared journal, or one half prepared, that a daemon left behind. */
export function removePreparedJournal(journal: string): void {
  removeIfExists(nextJournalOf(journal));
  removeIfExists(preparingJournalOf(journal));
}
