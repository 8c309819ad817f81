import pg from 'pg';
import type { HeldSharedLock, SharedLockEvent, SharedLockHolder, SharedLockOutcome } from '../../core/sharedLocks.js';
import { type DatabaseAddress, storeError } from './errors.js';

/** The 64-bit advisory lock key of a lock name: the same on every daemon (PostgreSQL hashes it). */
const KEY = 'hashtextextended($1, 0)';

/** Waits between attempts to reach the database again after the locks' connection was lost. */
const RETAKE_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000];

/** One lock this daemon holds, and who follows it. */
interface Held {
  readonly key: string;
  readonly holder: SharedLockHolder;
  state: 'held' | 'retaking' | 'gone';
  readonly listeners: ((event: SharedLockEvent) => void)[];
}

/**
 * Locks that span the team's daemons: PostgreSQL session advisory locks on one connection of this daemon's own (a
 * pooled connection would carry the lock to unrelated work), so a daemon that dies or is cut off lets go of its
 * locks with its connection. Who holds each lock is written to `shared_locks`, for the message another member gets.
 * When the connection drops while this daemon lives, each lock's followers are told at once (the lock is free for
 * others from that moment); a new connection then takes each lock again if nobody took it meanwhile, and tells them
 * whether it did.
 */
export class SessionLocks {
  private client: Promise<pg.Client> | undefined;
  /** Locks this daemon holds (or is taking again): name → lock. A session lock is re-entrant, so this daemon's own are checked here. */
  private readonly held = new Map<string, Held>();
  private closed = false;
  private retaking: Promise<void> | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly address: DatabaseAddress,
    /** Told when the connection holding the locks was lost: the locks went with it (they are being taken again). */
    private readonly onLost: (reason: string, locks: readonly string[]) => void,
    private readonly retakeDelaysMs: readonly number[] = RETAKE_DELAYS_MS,
  ) {}

  /** Takes `key` for `holder` unless a daemon (this one included) holds it; then answers who does. */
  async lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome> {
    const mine = this.held.get(key);
    if (mine) return { heldBy: mine.holder };
    try {
      const client = await this.connection();
      const taken = await this.take(client, key, holder);
      if (taken !== true) return { heldBy: taken };
      const lock: Held = { key, holder, state: 'held', listeners: [] };
      this.held.set(key, lock);
      return { held: this.handleOf(lock) };
    } catch (error) {
      throw storeError(error, this.address);
    }
  }

  /** Ends the connection, and with it every lock this daemon holds. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.held.clear();
    if (client) await (await client.catch(() => undefined))?.end().catch(() => undefined);
  }

  /** The advisory lock and its `shared_locks` row on `client`: true, or who holds the lock now. */
  private async take(client: pg.Client, key: string, holder: SharedLockHolder): Promise<true | SharedLockHolder> {
    // The store's type parsers answer a boolean as SQLite would (1 or 0).
    const taken = await client.query<{ got: number }>(`SELECT pg_try_advisory_lock(${KEY})::int AS got`, [key]);
    if (Number(taken.rows[0]?.got) !== 1) {
      const row = await client.query<{ member: string; activity: string; since: string }>('SELECT member, activity, since FROM shared_locks WHERE key = $1', [key]);
      return row.rows[0] ?? { member: 'another member', activity: 'work', since: new Date().toISOString() };
    }
    try {
      await client.query(
        'INSERT INTO shared_locks (key, member, activity, since) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET member = EXCLUDED.member, activity = EXCLUDED.activity, since = EXCLUDED.since',
        [key, holder.member, holder.activity, holder.since],
      );
    } catch (error) {
      await client.query(`SELECT pg_advisory_unlock(${KEY})`, [key]).catch(() => undefined);
      throw error;
    }
    return true;
  }

  /** What the work holding `lock` gets: release, and following it. */
  private handleOf(lock: Held): HeldSharedLock {
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      if (this.held.get(lock.key) !== lock) return;
      this.held.delete(lock.key);
      const wasHeld = lock.state === 'held';
      lock.state = 'gone';
      const current = this.client;
      if (!current || !wasHeld) return;
      const open = await current;
      await open.query('DELETE FROM shared_locks WHERE key = $1 AND member = $2 AND since = $3', [lock.key, lock.holder.member, lock.holder.since]);
      await open.query(`SELECT pg_advisory_unlock(${KEY})`, [lock.key]);
    };
    return {
      release,
      watch: (listener) => void lock.listeners.push(listener),
      get held() {
        return lock.state === 'held';
      },
    };
  }

  private connection(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('store: closed'));
    this.client ??= this.open();
    return this.client;
  }

  private open(): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    let lost = false;
    const onLost = (reason: string): void => {
      if (lost) return;
      lost = true;
      client.end().catch(() => undefined);
      if (this.client === opening) this.client = undefined;
      if (this.closed) return;
      const locks = [...this.held.values()].filter((lock) => lock.state === 'held');
      if (locks.length === 0) return;
      for (const lock of locks) {
        lock.state = 'retaking';
        tell(lock, { kind: 'lost', reason });
      }
      this.onLost(reason, locks.map((lock) => lock.key));
      this.retaking ??= this.retake(reason).finally(() => (this.retaking = undefined));
    };
    client.on('error', (error) => onLost(error.message));
    client.on('end', () => onLost('the connection ended'));
    const opening = client.connect().then(
      () => client,
      (error: unknown) => {
        lost = true;
        if (this.client === opening) this.client = undefined;
        throw error;
      },
    );
    return opening;
  }

  /**
   * Takes the locks a lost connection let go of again, on a new connection, as long as nobody took them meanwhile;
   * gives up on them after the last attempt to reach the database.
   */
  private async retake(reason: string): Promise<void> {
    let last = reason;
    for (const delay of this.retakeDelaysMs) {
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      const waiting = [...this.held.values()].filter((lock) => lock.state === 'retaking');
      if (this.closed || waiting.length === 0) return;
      try {
        const client = await this.connection();
        for (const lock of waiting) {
          if (this.held.get(lock.key) !== lock || lock.state !== 'retaking') continue;
          const taken = await this.take(client, lock.key, lock.holder);
          if (taken === true) {
            lock.state = 'held';
            tell(lock, { kind: 'retaken' });
          } else {
            lock.state = 'gone';
            tell(lock, { kind: 'gone', reason: `${taken.member} holds it now`, heldBy: taken });
          }
        }
        // A connection lost again while taking them back starts another round from its own loss.
        if ([...this.held.values()].every((lock) => lock.state !== 'retaking')) return;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
    }
    for (const lock of this.held.values()) {
      if (lock.state !== 'retaking') continue;
      lock.state = 'gone';
      tell(lock, { kind: 'gone', reason: `the team database could not be reached again (${last})` });
    }
  }
}

/** Tells a lock's followers what became of it; a follower that throws does not stop the others. */
function tell(lock: Held, event: SharedLockEvent): void {
  for (const listener of lock.listeners) {
    try {
      listener(event);
    } catch {
      // A follower's own failure must not end the daemon from inside the driver's event.
    }
  }
}
