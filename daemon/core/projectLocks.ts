/**
 * One piece of work per project at a time, whoever starts it: a deploy, a rollback, a restart, an undeploy. Work
 * that finds its project busy waits its turn (first come, first served) and can learn who holds the project, to
 * say so ("waiting for deploy run_… of shop"). Kept in memory: the daemon is the only one that touches a project's
 * containers, and a crash ends every holder with it.
 */

/** Who holds a project and since when, for messages. */
export interface ProjectHolder {
  /** What the holder is doing, e.g. `deploy run_7f3k9x2mab` or `restart of shop`. */
  readonly activity: string;
  readonly since: string;
}

interface Waiter {
  readonly activity: string;
  readonly grant: () => void;
}

interface Entry {
  holder: ProjectHolder;
  readonly waiting: Waiter[];
}

export class ProjectLocks {
  private readonly entries = new Map<string, Entry>();

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
    work: () => Promise<T>,
    options: { signal?: AbortSignal | undefined; waiting?: (holder: ProjectHolder) => void } = {},
  ): Promise<T> {
    await this.acquire(project, activity, options);
    try {
      return await work();
    } finally {
      this.releaseOne(project);
    }
  }

  private acquire(project: string, activity: string, options: { signal?: AbortSignal | undefined; waiting?: (holder: ProjectHolder) => void }): Promise<void> {
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
