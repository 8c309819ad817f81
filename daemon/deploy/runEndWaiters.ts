/** Callers waiting for runs to end (`deploy/start` with `wait`): each gets a promise that resolves at the end. */
export class RunEndWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Resolves when {@link release} is called for the run. */
  until(runId: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const set = this.waiters.get(runId) ?? new Set<() => void>();
      set.add(resolve);
      this.waiters.set(runId, set);
    });
  }

  /** The run has ended: every caller waiting for it goes on. */
  release(runId: string): void {
    for (const resolve of this.waiters.get(runId) ?? []) resolve();
    this.waiters.delete(runId);
  }
}
