/**
 * The data folder's lock in-process and against real processes: the lock file appears complete or not at all, and
 * a pid the OS has given to another program (a `dbus-daemon`, say) does not keep a dead daemon's lock alive.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { acquireLock, isDaemonAlive, type LockOwner, readOwner } from '../../daemon/core/lock.js';

const LOCK_MODULE = pathToFileURL(path.resolve(import.meta.dirname, '../../daemon/core/lock.ts')).href;
const hasProc = fs.existsSync('/proc/self/stat');

/** Starts `node` with these arguments and resolves once it has printed `ready` (so /proc shows its own command line). */
async function startProcess(args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`helper process exited with ${code}`)));
  });
  return child;
}

/** Ends a helper process and waits until Node has reaped it. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A program that idles; `name` goes on its command line, as a real program's name would. */
const IDLE = 'process.stdout.write("ready\\n"); setInterval(() => undefined, 1000);';

describe('data folder lock', () => {
  let folder: string;
  let lockFile: string;

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-lock-'));
    lockFile = path.join(folder, 'daemon.lock');
  });
  afterEach(() => {
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('the lock holds its owner, is private, leaves no temp file, and keeps a second starter out', () => {
    const first = acquireLock(lockFile);
    assert.equal(first.acquired, true);
    const owner = readOwner(lockFile);
    assert.equal(owner?.pid, process.pid);
    if (hasProc) assert.match(owner.processStart ?? '', /^[\w-]+\/\d+$/, 'the start time is recorded where /proc has it');
    assert.equal(fs.statSync(lockFile).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(folder), ['daemon.lock']);

    const second = acquireLock(lockFile);
    assert.equal(second.acquired, false);
    assert.equal(second.owner.pid, process.pid);
    first.release();
    assert.equal(fs.existsSync(lockFile), false);
  });

  test('a lock whose pid now runs another program is taken over', { skip: !hasProc && 'needs /proc' }, async () => {
    // A live process with "daemon" on its command line, as a dbus-daemon or gnome-keyring-daemon that got the pid.
    const other = await startProcess(['-e', IDLE, 'gnome-keyring-daemon']);
    try {
      const pid = other.pid ?? 0;
      const current = { pid, startedAt: new Date().toISOString() };
      // The recorded start is another process's: the daemon that wrote it is gone, the pid was reused.
      const reused: LockOwner = { ...current, processStart: `${bootId()}/1` };
      assert.equal(isDaemonAlive(reused), false);
      // A lock from an older version has no start time: the daemon script's name decides.
      assert.equal(isDaemonAlive(current), false, 'a program merely named *daemon is not the owner');

      fs.writeFileSync(lockFile, JSON.stringify(current), { mode: 0o600 });
      const taken = acquireLock(lockFile);
      assert.equal(taken.acquired, true);
      assert.equal(readOwner(lockFile)?.pid, process.pid);
      taken.release();
    } finally {
      await stopProcess(other);
    }
  });

  test('a live daemon keeps its lock, whether or not the lock records its start', { skip: !hasProc && 'needs /proc' }, async () => {
    const script = path.join(folder, 'daemon.cjs');
    fs.writeFileSync(script, IDLE);
    const daemon = await startProcess([script]);
    try {
      const pid = daemon.pid ?? 0;
      const legacy = { pid, startedAt: new Date().toISOString() };
      assert.equal(isDaemonAlive(legacy), true, 'a process running daemon.cjs is taken for the owner');
      fs.writeFileSync(lockFile, JSON.stringify(legacy), { mode: 0o600 });
      const refused = acquireLock(lockFile);
      assert.equal(refused.acquired, false);
      assert.equal(refused.owner.pid, pid);

      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const recorded: LockOwner = { ...legacy, processStart: `${bootId()}/${ticks}` };
      assert.equal(isDaemonAlive(recorded), true);
    } finally {
      await stopProcess(daemon);
    }
    assert.equal(isDaemonAlive({ pid: daemon.pid ?? 0, startedAt: '' }), false, 'gone once it exits');
  });

  test('a reader never sees a lock file without its owner, however often it is taken and released', async () => {
    const doneFile = path.join(folder, 'done');
    const rounds = 400;
    const loop = [
      `const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});`,
      `for (let round = 0; round < ${rounds}; round++) {`,
      `  const lock = acquireLock(${JSON.stringify(lockFile)}, () => true);`,
      '  if (lock.acquired) lock.release();',
      '}',
      `(await import('node:fs')).writeFileSync(${JSON.stringify(doneFile)}, '');`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', loop], { stdio: 'inherit' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let seen = 0;
    const torn: string[] = [];
    // Read as fast as possible until the writer is done, letting the event loop in now and then to see it exit.
    for (let reads = 1; !fs.existsSync(doneFile) && child.exitCode === null; reads++) {
      if (reads % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      let text: string;
      try {
        text = fs.readFileSync(lockFile, 'utf8');
      } catch {
        continue; // between a release and the next acquire
      }
      seen++;
      if (!holdsOwner(text)) torn.push(text);
    }
    assert.equal(await exited, 0);
    assert.deepEqual(torn, [], 'every lock file read held a whole owner record');
    assert.ok(seen > 0, 'the reader saw the lock at least once');
    assert.deepEqual(fs.readdirSync(folder).sort(), ['done'], 'no lock and no temp file left behind');
  });
});

/** True if a lock file's text is a whole owner record. */
function holdsOwner(text: string): boolean {
  try {
    return typeof (JSON.parse(text) as { pid?: unknown }).pid === 'number';
  } catch {
    return false;
  }
}

/** The boot id the lock puts before a start tick. */
function bootId(): string {
  return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}
