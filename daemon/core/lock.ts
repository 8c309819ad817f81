import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from './files.js';

/** What the lock file says about its owner. */
export interface LockOwner {
  readonly pid: number;
  readonly startedAt: string;
  /**
   * When the owner process started, as the OS records it (Linux: boot id and start tick from /proc), so a pid the
   * OS has since given to another process is not mistaken for the owner. Absent where the OS does not tell
   * (macOS, Windows) and in locks written by older versions.
   */
  readonly processStart?: string;
}

/** The outcome of trying to become the folder's one daemon. */
export type LockResult = { readonly acquired: true; release(): void } | { readonly acquired: false; readonly owner: LockOwner };

/** How old a takeover marker may get before it is treated as left behind by a crash mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

/** File systems that cannot hard-link answer link(2) with one of these; the lock then falls back to O_EXCL. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Makes sure one data folder has one writer. The lock file appears complete or not at all: the owner record is
 * written to a private temp file and hard-linked into place, which fails if a lock exists. If one does, its owner
 * is checked. A dead owner's lock is taken over under a second exclusive marker, so two daemons starting at once
 * after a crash cannot both decide the lock is stale and both win.
 */
export function acquireLock(lockFile: string, isOwnerAlive: (owner: LockOwner) => boolean = isDaemonAlive): LockResult {
  const start = processStartOf(process.pid);
  const me: LockOwner = { pid: process.pid, startedAt: new Date().toISOString(), ...(start?.started ? { processStart: start.started } : {}) };
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
      return {
        pid: parsed.pid,
        startedAt: parsed.startedAt,
        ...(typeof parsed.processStart === 'string' ? { processStart: parsed.processStart } : {}),
      };
    }
  } catch {
    // Missing, or damaged on disk: both mean "no live owner says so".
  }
  return undefined;
}

/**
 * True if the owner's process still runs and is the one that wrote the lock. Pids are reused, and the process that
 * now has the pid may well be a `dbus-daemon` or `gnome-keyring-daemon`, so where the OS records start times the
 * owner's start is compared; a lock from an older version without one is matched by the daemon script's name.
 * Without /proc (macOS, Windows) the pid is all there is, and a live pid is taken as the owner: a stale lock that
 * is kept is a clear error, a live lock that is taken is two writers.
 */
export function isDaemonAlive(owner: LockOwner): boolean {
  if (owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to someone else; without /proc it cannot be ruled out.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const current = processStartOf(owner.pid);
  if (current === undefined) return true;
  // A zombie has exited; it only waits for its parent to collect it.
  if (current.exited) return false;
  if (owner.processStart !== undefined) return current.started === owner.processStart;
  return runsDaemonScript(owner.pid);
}

/** Where the OS records process start times: Linux /proc. Undefined elsewhere, or if the process is gone. */
function processStartOf(pid: number): { readonly started: string | undefined; readonly exited: boolean } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const ticks = fields[19]; // field 22, starttime: clock ticks after boot
  return { started: ticks === undefined ? undefined : `${bootId()}/${ticks}`, exited: state === 'Z' || state === 'X' };
}

/** Start ticks count from boot; the boot id keeps a lock from before a reboot from matching a process after it. */
function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

/** True if the process runs the daemon script (`daemon.cjs`, or the same script as this process). */
function runsDaemonScript(pid: number): boolean {
  let commandLine: string;
  try {
    commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  const ownScript = process.argv[1];
  return commandLine
    .split('\0')
    .some((argument) => argument !== '' && (path.basename(argument) === 'daemon.cjs' || argument === ownScript));
}

/**
 * Creates the lock file holding `me`, complete or not at all; false if a lock file exists. Not synced: the lock
 * keeps out other live processes, which see the file at once, and a crash of the machine ends its owner too (a lock
 * torn or lost by one reads as no live owner). Syncing it and its folder cost two fsyncs of every start.
 */
function tryCreate(lockFile: string, me: LockOwner): boolean {
  const temporary = `${lockFile}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, 'wx', PRIVATE_FILE_MODE);
  try {
    try {
      fs.writeSync(fd, JSON.stringify(me));
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(temporary, lockFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (NO_HARD_LINKS.has(code)) return createExclusive(lockFile, me);
    throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  return true;
}

/**
 * The lock for file systems without hard links (FAT, some network shares): O_EXCL, then the owner is written. A
 * reader can see the file empty for an instant here and may take the lock over; such folders are rare, and no
 * lock at all would be worse.
 */
function createExclusive(lockFile: string, me: LockOwner): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockFile, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fs.writeSync(fd, JSON.stringify(me));
  } finally {
    fs.closeSync(fd);
  }
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
