/**
 * Process helpers shared by the test harnesses.
 *
 * PID 1 on these machines reaps orphans only lazily (seconds later), so a daemon that forked into the background
 * lingers as a zombie after a kill and `kill(pid, 0)` keeps succeeding on it. The harnesses therefore keep every
 * daemon as a direct child (foreground mode) and wait for Node's `exit` event instead of polling pids.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

/** Parent pid of every process in /proc (zombies included: they still need their parent to reap them), keyed by pid. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name in field 2 may contain spaces and parentheses: parse after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (Number.isInteger(parent)) parents.set(Number(name), parent);
    } catch {
      // The process ended while we were listing: nothing to track.
    }
  }
  return parents;
}

/** Children of every process, keyed by parent pid. */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const [pid, parent] of parentPids()) {
    const list = children.get(parent) ?? [];
    list.push(pid);
    children.set(parent, list);
  }
  return children;
}

/** Descendants of `rootPid` (children, grandchildren, …) in `children`, deepest first. */
function collectDescendants(rootPid: number, children: Map<number, number[]>): number[] {
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift();
    if (pid === undefined) break;
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found.reverse();
}

/** Descendants of `rootPid` (children, grandchildren, …), deepest first. */
export function descendants(rootPid: number): number[] {
  return collectDescendants(rootPid, childrenByParent());
}

/** Sends `signal` and ignores "no such process": the target may already be gone. */
export function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** True once Node has seen the child exit. */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves true when the child exits within `timeoutMs`, false otherwise. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** True while `pid` exists and has not been reaped (a zombie still counts: its parent has yet to collect it). */
function processExists(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`, 'utf8');
    return true;
  } catch {
    return false;
  }
}

/** Polls until none of `pids` exist any more, or `timeoutMs` has passed. */
async function waitUntilGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(processExists) && Date.now() < deadline) await delay(20);
}

/**
 * Ends a child and everything it started, leaves first: SIGTERM the processes without children, wait until
 * their (still living) parents have reaped them, repeat one level up, and finally the child itself. Ending
 * parents first would orphan their children to PID 1, which reaps only seconds later. SIGKILL after `graceMs`.
 * Resolves once the child itself has exited.
 */
export async function terminateTree(child: ChildProcess, graceMs = 3_000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || hasExited(child)) return;
  const deadline = Date.now() + graceMs;
  for (;;) {
    const children = childrenByParent();
    const below = collectDescendants(pid, children);
    if (below.length === 0) break;
    if (Date.now() >= deadline) {
      for (const descendant of below) signalQuietly(descendant, 'SIGKILL');
      break;
    }
    const leaves = below.filter((descendant) => (children.get(descendant) ?? []).length === 0);
    for (const leaf of leaves) signalQuietly(leaf, 'SIGTERM');
    await waitUntilGone(leaves, deadline - Date.now());
  }
  signalQuietly(pid, 'SIGTERM');
  if (await waitForExit(child, graceMs)) return;
  for (const descendant of descendants(pid)) signalQuietly(descendant, 'SIGKILL');
  signalQuietly(pid, 'SIGKILL');
  if (!(await waitForExit(child, graceMs))) throw new Error(`process ${pid} did not exit after SIGKILL`);
}

/** Synchronous last-resort kill, usable inside a process 'exit' handler where nothing can be awaited. */
export function killTreeSync(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || hasExited(child)) return;
  for (const descendant of descendants(pid)) signalQuietly(descendant, 'SIGKILL');
  signalQuietly(pid, 'SIGKILL');
}

const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Runs `cleanup` synchronously when this Node process exits, in case a test forgot to call `stop()`.
 * Returns a function that unregisters it (call it from a successful `stop()`).
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const run of exitCleanups) {
        try {
          run();
        } catch {
          // Keep going: one failed cleanup must not leave the other daemons running.
        }
      }
      exitCleanups.clear();
    });
  }
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
  };
}

/** Removes a harness folder; tolerant of it being gone already. */
export function removeFolder(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 3 });
}

/** Last `maxChars` characters of a log file, or '' when it cannot be read; used in error messages. */
export function tailOf(path: string, maxChars = 4_000): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.length > maxChars ? text.slice(-maxChars) : text;
  } catch {
    return '';
  }
}

/** Promise-based pause. */
export function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

/** `waitUntil` for a condition that holds or not: polls `check` until it is true, failing after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  await waitUntil(what, async () => ((await check()) ? true : undefined), timeoutMs);
}
