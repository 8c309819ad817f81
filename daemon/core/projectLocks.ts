/**
 * One piece of work per project at a time, whoever starts it: a deploy, a rollback, a restart, an undeploy. Work
 * that finds its project busy waits its turn (first come, first served) and can learn who holds the project, to
 * say so ("waiting for deploy run_… of shop"). Kept in memory, and, when the daemon shares its store with a team's
 * other daemons, also taken there (a {@link SharedLocks}): work another member's daemon is doing on the project
 * refuses this one, naming the member and what they do, or, for work that asks to queue, keeps it waiting in one line
 * with the other daemons' work, first come, first served.
 */
import { ZavhozError } from './errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { HeldSharedLock, SharedLockEvent, SharedLockHolder, SharedLocks } from './sharedLocks.js';

/** Who holds a project and since when, for messages. */
export interface ProjectHolder {
  /** What the holder is doing, e.g. `deploy run_7f3k9x2mab` or `restart of shop`. */
  readonly activity: string;
  readonly since: string;
}

/** Work that queues behind another member's daemon instead of being refused (see {@link ProjectLocks.hold}). */
export interface QueueAcrossDaemons {
  /** The wait began, or the holder changed: who holds the project, and that in words for a log. */
  waiting(holder: SharedLockHolder, message: string): void | Promise<void>;
  /** The wait is over: this daemon holds the project now, and the work starts. */
  taken?(): void | Promise<void>;
}

/** How {@link ProjectLocks.hold} waits. */
export interface HoldOptions {
  /** Aborted while waiting: the place in line is given up and `hold` rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Called once, with this daemon's holder, if the work has to wait for it. */
  readonly waiting?: (holder: ProjectHolder) => void;
  /**
   * Wait for another member's daemon instead of being refused: in line, first come, first served, where the team's
   * store keeps a line ({@link SharedLocks.lockInTurn}); else asking again every {@link ACROSS_POLL_MS}.
   */
  readonly queue?: QueueAcrossDaemons | undefined;
  /**
   * Told, while the work runs, when the connection that holds the project across the team's daemons was lost and
   * whether the lock was taken again (see {@link ProjectLease}).
   */
  readonly lockEvents?: ((event: SharedLockEvent) => void) | undefined;
}

/**
 * What work holding a project can ask while it runs: whether this daemon still holds the project across the team's
 * daemons. A lost connection to the team's store lets go of the lock until it is taken again: work with steps checks
 * before each one and stops rather than go on unprotected.
 */
export interface ProjectLease {
  /** False from a lost lock connection until the lock was taken again; always true outside a team. */
  readonly held: boolean;
}

const ALWAYS_HELD: ProjectLease = { held: true };

/** How often work queued behind another member's daemon asks for the project again, where the store keeps no line. */
export const ACROSS_POLL_MS = 500;

/** What work waiting for another member's daemon says: `waiting for alice@host's deploy of shop (run_…, since …)`. */
export function waitingMessage(project: string, holder: SharedLockHolder): string {
  const run = /^(deploy|rollback) (run_[a-z2-7]+)$/.exec(holder.activity);
  const what = run ? `${run[1] ?? ''} of ${project} (${run[2] ?? ''}, since ${holder.since})` : `${holder.activity.includes(project) ? holder.activity : `${holder.activity} of ${project}`} (since ${holder.since})`;
  return `waiting for ${holder.member}'s ${what}`;
}

interface Waiter {
  readonly activity: string;
  readonly grant: () => void;
}

interface Entry {
  holder: ProjectHolder;
  readonly waiting: Waiter[];
}

/** Where a daemon's project locks are also taken, across the daemons that share its store. */
export interface ProjectLocksAcrossDaemons {
  readonly shared: SharedLocks;
  /** This daemon's member name, recorded with each lock it takes. */
  readonly member: string;
  /** Told when giving a shared lock back failed (it is gone with the connection anyway). */
  readonly onReleaseFailed?: (project: string, error: unknown) => void;
}

export class ProjectLocks {
  private readonly entries = new Map<string, Entry>();

  /** Without `across`, the locks are this daemon's alone (the embedded store: one daemon). */
  constructor(private readonly across?: ProjectLocksAcrossDaemons) {}

  /** Who holds the project now, if anyone. */
  holderOf(project: string): ProjectHolder | undefined {
    return this.entries.get(project)?.holder;
  }

  /**
   * Runs `work` once the project is free, holding it until `work` settles. `waiting` is called once, with the
   * holder, if the work has to wait. An aborted `signal` while waiting gives up the place in line and rejects with
   * the signal's reason; once `work` runs, aborting is up to it.
   */
  async hold<T>(
    project: string,
    activity: string,
    work: (lease: ProjectLease) => Promise<T>,
    options: HoldOptions = {},
  ): Promise<T> {
    await this.acquire(project, activity, options);
    try {
      const shared = await this.acrossDaemons(project, activity, options);
      if (shared && options.lockEvents) shared.watch?.(options.lockEvents);
      try {
        return await work(shared ? { get held() { return shared.held ?? true; } } : ALWAYS_HELD);
      } finally {
        await shared?.release().catch((error: unknown) => this.across?.onReleaseFailed?.(project, error));
      }
    } finally {
      this.releaseOne(project);
    }
  }

  /**
   * The project's lock across the team's daemons, once this daemon's own turn came: refused while another holds it,
   * or, with `options.queue`, waited for until it is free or the signal aborts.
   */
  private async acrossDaemons(project: string, activity: string, options: HoldOptions): Promise<HeldSharedLock | undefined> {
    if (!this.across) return undefined;
    const { shared, member } = this.across;
    const { queue } = options;
    let last: SharedLockHolder | undefined;
    if (queue && shared.lockInTurn) {
      const held = await shared.lockInTurn(`project:${project}`, { member, activity, since: new Date().toISOString() }, {
        signal: options.signal,
        waiting: async (ahead) => {
          if (last !== undefined && sameHolder(last, ahead)) return;
          last = ahead;
          await queue.waiting(ahead, waitingMessage(project, ahead));
        },
      });
      try {
        if (last !== undefined) await queue.taken?.();
      } catch (error) {
        await held.release().catch((failed: unknown) => this.across?.onReleaseFailed?.(project, failed));
        throw error;
      }
      return held;
    }
    for (;;) {
      const outcome = await shared.lock(`project:${project}`, { member, activity, since: new Date().toISOString() });
      if ('held' in outcome) {
        if (last !== undefined) await options.queue?.taken?.();
        return outcome.held;
      }
      const holder = outcome.heldBy;
      if (!options.queue) throw busyProject(project, holder);
      if (last === undefined || !sameHolder(last, holder)) {
        last = holder;
        await options.queue.waiting(holder, waitingMessage(project, holder));
      }
      await pause(ACROSS_POLL_MS, options.signal);
    }
  }

  private acquire(project: string, activity: string, options: HoldOptions): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const entry = this.entries.get(project);
    if (!entry) {
      this.entries.set(project, { holder: { activity, since: new Date().toISOString() }, waiting: [] });
      return Promise.resolve();
    }
    options.waiting?.(entry.holder);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = entry.waiting.indexOf(waiter);
        if (index >= 0) entry.waiting.splice(index, 1);
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        activity,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      entry.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaseOne(project: string): void {
    const entry = this.entries.get(project);
    if (!entry) return;
    const next = entry.waiting.shift();
    if (!next) {
      this.entries.delete(project);
      return;
    }
    entry.holder = { activity: next.activity, since: new Date().toISOString() };
    next.grant();
  }
}

/** Whether two answers name the same holder (the same work of the same member, since the same time). */
function sameHolder(one: SharedLockHolder, other: SharedLockHolder): boolean {
  return one.member === other.member && one.activity === other.activity && one.since === other.since;
}

/** Another member's daemon holds the project: the work is refused, naming who and what. */
function busyProject(project: string, holder: SharedLockHolder): ZavhozError {
  return new ZavhozError(
    ErrorCodes.Conflict,
    `Project ${project} is busy: ${holder.member} is running ${holder.activity} on it (since ${holder.since}). Nothing was started; try again once that is done.`,
    { project, member: holder.member, activity: holder.activity, since: holder.since },
  );
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
