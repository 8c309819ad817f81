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

/**
 * What became of a held lock whose connection to the store was lost: `lost` at once (the lock is not held now),
 * then `retaken` (on a new connection, nobody took it meanwhile) or `gone` (another daemon holds it now, or the
 * store could not be reached again in time).
 */
export type SharedLockEvent =
  | { readonly kind: 'lost'; readonly reason: string }
  | { readonly kind: 'retaken' }
  | { readonly kind: 'gone'; readonly reason: string; readonly heldBy?: SharedLockHolder };

/** A lock this daemon holds: release it once the work is done (safe to call twice). */
export interface HeldSharedLock {
  release(): Promise<void>;
  /**
   * Follows the lock while it is held: told when the connection holding it was lost and what became of it. Absent
   * where the lock cannot be lost while the daemon runs (the embedded store's in-process locks).
   */
  watch?(listener: (event: SharedLockEvent) => void): void;
  /** False from a lost connection until the lock was taken again (and for good once it is gone); absent: always held. */
  readonly held?: boolean;
}

/** What asking for a shared lock gives: the lock, or who holds it now. */
export type SharedLockOutcome = { readonly held: HeldSharedLock } | { readonly heldBy: SharedLockHolder };

/** How {@link SharedLocks.lockInTurn} waits. */
export interface SharedLockTurnOptions {
  /** Aborted while waiting: the place in line is given up and `queue` rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Told, each time the line is looked at while the lock cannot be taken, whom this work waits for: the holder, or the
   * work just ahead of it in line (which takes the lock first).
   */
  readonly waiting: (ahead: SharedLockHolder) => void | Promise<void>;
}

/** Takes named locks across daemons. */
export interface SharedLocks {
  /**
   * Takes `key` for `holder` if no daemon holds it and none waits for it, without waiting; otherwise answers who
   * holds it (or waits first). Rejects when the store cannot be reached (then nobody may assume the lock).
   */
  lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome>;
  /**
   * Waits for `key` in line, first come, first served across the daemons, and takes it for `holder` when its turn
   * comes. Rejects when the store cannot be reached while it waits, or with the signal's reason. Absent where
   * one daemon alone uses the locks (its own queue orders its work): then `lock` is asked again until it is free.
   */
  lockInTurn?(key: string, holder: SharedLockHolder, options: SharedLockTurnOptions): Promise<HeldSharedLock>;
}
