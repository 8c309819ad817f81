import fs from 'node:fs';
import { PRIVATE_FILE_MODE, syncFolder } from './files.js';
import path from 'node:path';

/** What the lock file says about its owner. */
export interface LockOwner {
  readonly pid: number;
  readonly startedAt: string;
}

/** The outcome of trying to become the folder's one daemon. */
export type LockResult = { readonly acquired: true; release(): void } | { readonly acquired: false; readonly owner: LockOwner };

/** How old a takeover marker may get before it is treated as left behind by a crash mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Makes sure one data folder has one writer. The lock file is created with O_EXCL; if it exists, its pid is
 * checked. A dead owner's lock is taken over under a second exclusive marker, so two daemons starting at once
 * after a crash cannot both decide the lock is stale and both win.
 */
export function acquireLock(lockFile: string, isOwnerAlive: (owner: LockOwner) => boolean = isDaemonAlive): LockResult {
  const me: LockOwner = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(lockFile, me)) return held(lockFile, me);
    const owner = readOwner(lockFile);
    if (owner && isOwnerAlive(owner)) return { acquired: false, owner };
    if (takeOverStale(lockFile, owner, me)) return held(lockFile, me);
  }
  const owner = readOwner(lockFile);
  return { acquired: false, owner: owner ?? { pid: 0, startedAt: 'unknown' } };
}

/** Reads the lock's owner, or undefined if there is no readable lock. */
export function readOwner(lockFile: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.startedAt === 'string') {
      return { pid: parsed.pid, startedAt: parsed.startedAt };
    }
  } catch {
    // Missing, or torn by a crash while it was being written: both mean "no live owner says so".
  }
  return undefined;
}

/** True if a process with the owner's pid exists and looks like a Zavhoz daemon (guards against pid reuse). */
export function isDaemonAlive(owner: LockOwner): boolean {
  if (owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const commandLine = fs.readFileSync(`/proc/${owner.pid}/cmdline`, 'utf8');
    return commandLine.includes('daemon');
  } catch {
    return true; // No /proc (macOS): the pid check is all there is.
  }
}

function tryCreate(lockFile: string, me: LockOwner): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockFile, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fs.writeSync(fd, JSON.stringify(me));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncFolder(path.dirname(lockFile));
  return true;
}

function takeOverStale(lockFile: string, staleOwner: LockOwner | undefined, me: LockOwner): boolean {
  const marker = `${lockFile}.takeover`;
  clearAbandonedMarker(marker);
  let fd: number;
  try {
    fd = fs.openSync(marker, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false; // someone else is taking over
    throw error;
  }
  fs.closeSync(fd);
  try {
    // Re-check under the marker: the lock may have been replaced by a live daemon since we looked.
    const current = readOwner(lockFile);
    const unchanged = JSON.stringify(current) === JSON.stringify(staleOwner);
    if (!unchanged) return false;
    fs.rmSync(lockFile, { force: true });
    return tryCreate(lockFile, me);
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

function clearAbandonedMarker(marker: string): void {
  try {
    const age = Date.now() - fs.statSync(marker).mtimeMs;
    if (age > TAKEOVER_STALE_MS) fs.rmSync(marker, { force: true });
  } catch {
    // No marker.
  }
}

function held(lockFile: string, me: LockOwner): LockResult {
  return {
    acquired: true,
    release(): void {
      if (readOwner(lockFile)?.pid === me.pid) fs.rmSync(lockFile, { force: true });
    },
  };
}
