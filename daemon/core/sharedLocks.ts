/**
 * Locks that span every daemon sharing one store (a team's PostgreSQL): the port `ProjectLocks` uses, implemented
 * by the store (`Database.lock`). Declared here because `core/` imports no store code.
 */

/** Who holds a shared lock, for the message another member gets. */
export interface SharedLockHolder {
  /** The member whose daemon holds it (`zavhoz team join --member`, or user@host). */
  readonly member: string;
  /** What it is doing, e.g. `deploy run_7f3k9x2mab`. */
  readonly activity: string;
  /** When it took the lock (ISO time). */
  readonly since: string;
}

/** A lock this daemon holds: release it once the work is done (safe to call twice). */
export interface HeldSharedLock {
  release(): Promise<void>;
}

/** What asking for a shared lock gives: the lock, or who holds it now. */
export type SharedLockOutcome = { readonly held: HeldSharedLock } | { readonly heldBy: SharedLockHolder };

/** Takes named locks across daemons. */
export interface SharedLocks {
  /**
   * Takes `key` for `holder` if no daemon holds it, without waiting; otherwise answers who does. Rejects when the
   * store cannot be reached (then nobody may assume the lock).
   */
  lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome>;
}
