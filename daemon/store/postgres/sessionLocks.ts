import pg from 'pg';
import type { HeldSharedLock, SharedLockEvent, SharedLockHolder, SharedLockOutcome, SharedLockTurnOptions } from '../../core/sharedLocks.js';
import { type DatabaseAddress, isConnectionError, storeError } from './errors.js';

/** The 64-bit advisory lock key of a lock name: the same on every daemon (PostgreSQL hashes it). */
const KEY = 'hashtextextended($1, 0)';

/**
 * The advisory lock a waiter's ticket `$1` lives by, held on its daemon's lock connection: the two-number form, whose
 * keys never meet a lock name's 64-bit ones.
 */
const TICKET = '31337, ($1::bigint % 2147483647)::int';

/** Where a lock's holder that lets go, or a waiter that leaves the line, says so: the next in line looks at once. */
const LINE_CHANNEL = 'zavhoz_lock_line';

/** How often a waiter looks at the line without being told: a holder or waiter whose daemon died tells nobody. */
const LINE_CHECK_MS = 1_000;

/** Lost connections in a row a waiter rides out (one look each {@link LINE_CHECK_MS}) before it gives up. */
const LINE_RECONNECTS = 10;

/** Waits between attempts to reach the database again after the locks' connection was lost. */
const RETAKE_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000];

/** One lock this daemon holds, and who follows it. */
interface Held {
  readonly key: string;
  readonly holder: SharedLockHolder;
  state: 'held' | 'retaking' | 'gone';
  readonly listeners: ((event: SharedLockEvent) => void)[];
}

/** A place in a lock's line: its row in `lock_waiters`, alive as long as the connection that made it. */
interface Ticket {
  readonly id: number;
  readonly client: pg.Client;
}

/**
 * Locks that span the team's daemons: PostgreSQL session advisory locks on one connection of this daemon's own (a
 * pooled connection would carry the lock to unrelated work), so a daemon that dies or is cut off lets go of its
 * locks with its connection. Who holds each lock is written to `shared_locks`, for the message another member gets.
 * When the connection drops while this daemon lives, each lock's followers are told at once (the lock is free for
 * others from that moment); a new connection then takes each lock again if nobody took it meanwhile, and tells them
 * whether it did.
 *
 * Work that waits for a lock takes a ticket (`lock_waiters`, numbered in the order they came) and takes the lock once
 * no live ticket is before it: first come, first served across daemons. A ticket lives by an advisory lock on the
 * same connection, so one whose daemon died or was cut off is skipped (and removed). A holder that lets go and a
 * waiter that leaves NOTIFY the line, so the next looks at once; each waiter also looks every {@link LINE_CHECK_MS}.
 */
export class SessionLocks {
  private client: Promise<pg.Client> | undefined;
  /** Locks this daemon holds (or is taking again): name → lock. A session lock is re-entrant, so this daemon's own are checked here. */
  private readonly held = new Map<string, Held>();
  private closed = false;
  private retaking: Promise<void> | undefined;
  /** This daemon's tickets (never judged dead by their own connection, on which their advisory locks re-enter). */
  private readonly tickets = new Set<number>();
  /** Waiters to wake when a lock's line changed: lock name → wakers. */
  private readonly wakers = new Map<string, Set<() => void>>();
  /**
   * Server sessions of lock connections this daemon lost: after a network cut PostgreSQL may keep such a session (and
   * the locks and tickets it holds) until its own TCP keepalive gives up, hours later, so the next connection ends
   * them. Named by process id and start time, so that a process id PostgreSQL gave to another session since is spared.
   */
  private lostSessions: { readonly pid: number; readonly started: string }[] = [];

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly address: DatabaseAddress,
    /** Told when the connection holding the locks was lost: the locks went with it (they are being taken again). */
    private readonly onLost: (reason: string, locks: readonly string[]) => void,
    private readonly retakeDelaysMs: readonly number[] = RETAKE_DELAYS_MS,
  ) {}

  /**
   * Takes `key` for `holder` unless a daemon (this one included) holds it or work waits for it in line; then answers
   * who holds it (or, while it is free for the first in line to take, who that is).
   */
  async lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome> {
    const mine = this.held.get(key);
    if (mine) return { heldBy: mine.holder };
    try {
      const client = await this.connection();
      const first = await this.firstInLine(client, key, undefined);
      if (first) return { heldBy: (await this.holderIfHeld(client, key)) ?? first };
      const taken = await this.take(client, key, holder);
      if (taken !== true) return { heldBy: taken };
      return { held: this.hold(key, holder) };
    } catch (error) {
      throw storeError(error, this.address);
    }
  }

  /**
   * Waits in line for `key` and takes it for `holder` (since the moment it is taken) when its turn comes. A lost
   * connection loses the place in line (its ticket went with it): the wait goes on with a new ticket at the end.
   */
  async lockInTurn(key: string, holder: SharedLockHolder, options: SharedLockTurnOptions): Promise<HeldSharedLock> {
    const { signal } = options;
    let ticket: Ticket | undefined;
    let failures = 0;
    try {
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        const woken = this.wakeOn(key);
        // Held since the moment it is taken, not since it began to wait.
        const taking = { ...holder, since: new Date().toISOString() };
        try {
          let ahead: true | SharedLockHolder | undefined;
          try {
            const mine = this.held.get(key);
            if (mine) ahead = mine.holder;
            else {
              const client = await this.connection();
              if (ticket?.client !== client) {
                if (ticket) this.tickets.delete(ticket.id);
                ticket = await this.enqueue(client, key, holder);
              }
              ahead = await this.takeInTurn(client, key, taking, ticket);
            }
            failures = 0;
          } catch (error) {
            // A connection lost while waiting: the wait goes on, on a new one, unless the database stays out of reach.
            if (!isConnectionError(error) || ++failures > LINE_RECONNECTS) throw storeError(error, this.address);
          }
          if (ahead === true) {
            ticket = undefined;
            return this.hold(key, taking);
          }
          if (ahead) await options.waiting(ahead);
          await woken.within(LINE_CHECK_MS, signal);
        } finally {
          woken.cancel();
        }
      }
    } finally {
      if (ticket) await this.leave(ticket, key).catch(() => undefined);
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

  /** Records a lock this daemon took and answers its handle. */
  private hold(key: string, holder: SharedLockHolder): HeldSharedLock {
    const lock: Held = { key, holder, state: 'held', listeners: [] };
    this.held.set(key, lock);
    return this.handleOf(lock);
  }

  /** A ticket at the end of `key`'s line, alive by its advisory lock on `client` (taken as the row is written). */
  private async enqueue(client: pg.Client, key: string, holder: SharedLockHolder): Promise<Ticket> {
    const row = await client.query<{ id: number | string }>(
      `INSERT INTO lock_waiters (key, member, activity, since) VALUES ($1, $2, $3, $4) RETURNING id, pg_advisory_lock(${TICKET.replace('$1', 'id')})`,
      [key, holder.member, holder.activity, holder.since],
    );
    const id = Number(row.rows[0]?.id);
    this.tickets.add(id);
    return { id, client };
  }

  /**
   * Takes `key` for `holder` with `ticket` if no live ticket is before it: true; else who is first before it, or who
   * holds the lock. The ticket is gone once the lock is taken.
   */
  private async takeInTurn(client: pg.Client, key: string, holder: SharedLockHolder, ticket: Ticket): Promise<true | SharedLockHolder> {
    const ahead = await this.firstInLine(client, key, ticket.id);
    if (ahead) return ahead;
    const taken = await this.take(client, key, holder);
    if (taken !== true) return taken;
    // The next in line now waits for this holder: told at once, so that its message names it.
    await this.forget(client, ticket, key);
    return true;
  }

  /** Gives up a place in line: its row and advisory lock go, and the line is told. */
  private async leave(ticket: Ticket, key: string): Promise<void> {
    if (this.client === undefined || (await this.client.catch(() => undefined)) !== ticket.client) {
      // Its connection is gone, and with it the ticket's lock: the next daemon that looks removes the row.
      this.tickets.delete(ticket.id);
      return;
    }
    await this.forget(ticket.client, ticket, key);
  }

  /** Removes a ticket of this daemon's and tells the line. */
  private async forget(client: pg.Client, ticket: Ticket, key: string): Promise<void> {
    this.tickets.delete(ticket.id);
    await client.query('DELETE FROM lock_waiters WHERE id = $1', [ticket.id]);
    await client.query(`SELECT pg_advisory_unlock(${TICKET}), pg_notify('${LINE_CHANNEL}', $2)`, [ticket.id, key]);
  }

  /**
   * Who is first in `key`'s line and still alive, or, with `before`, who is just ahead of that ticket; tickets of
   * daemons whose connection is gone are removed on the way.
   */
  private async firstInLine(client: pg.Client, key: string, before: number | undefined): Promise<SharedLockHolder | undefined> {
    const line = await client.query<{ id: number | string; member: string; activity: string; since: string }>(
      before === undefined
        ? 'SELECT id, member, activity, since FROM lock_waiters WHERE key = $1 ORDER BY id'
        : 'SELECT id, member, activity, since FROM lock_waiters WHERE key = $1 AND id < $2 ORDER BY id DESC',
      before === undefined ? [key] : [key, before],
    );
    for (const row of line.rows) {
      const id = Number(row.id);
      if (this.tickets.has(id)) return { member: row.member, activity: row.activity, since: row.since };
      const free = await client.query<{ got: number }>(`SELECT pg_try_advisory_lock(${TICKET})::int AS got`, [id]);
      if (Number(free.rows[0]?.got) !== 1) return { member: row.member, activity: row.activity, since: row.since };
      // Its daemon's connection is gone: the ticket was left behind.
      await client.query('DELETE FROM lock_waiters WHERE id = $1', [id]);
      await client.query(`SELECT pg_advisory_unlock(${TICKET})`, [id]);
    }
    return undefined;
  }

  /** Who holds `key` now, if anyone does (the lock is tried and, when free, let go of at once). */
  private async holderIfHeld(client: pg.Client, key: string): Promise<SharedLockHolder | undefined> {
    const tried = await client.query<{ got: number }>(`SELECT pg_try_advisory_lock(${KEY})::int AS got`, [key]);
    if (Number(tried.rows[0]?.got) === 1) {
      await client.query(`SELECT pg_advisory_unlock(${KEY})`, [key]);
      return undefined;
    }
    const row = await client.query<{ member: string; activity: string; since: string }>('SELECT member, activity, since FROM shared_locks WHERE key = $1', [key]);
    return row.rows[0] ?? { member: 'another member', activity: 'work', since: new Date().toISOString() };
  }

  /** A wake-up for `key`'s waiter: resolved when the line is told of a change, or after `ms`, or rejected on abort. */
  private wakeOn(key: string): { within(ms: number, signal: AbortSignal | undefined): Promise<void>; cancel(): void } {
    let wake: () => void = () => undefined;
    const told = new Promise<void>((resolve) => (wake = resolve));
    let wakers = this.wakers.get(key);
    if (!wakers) {
      wakers = new Set();
      this.wakers.set(key, wakers);
    }
    wakers.add(wake);
    const cancel = (): void => {
      const current = this.wakers.get(key);
      current?.delete(wake);
      if (current?.size === 0) this.wakers.delete(key);
    };
    return {
      cancel,
      within: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            clearTimeout(timer);
            reject(signal?.reason as Error);
          };
          const done = (): void => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          const timer = setTimeout(done, ms);
          void told.then(done);
          if (signal?.aborted) onAbort();
          else signal?.addEventListener('abort', onAbort, { once: true });
        }),
    };
  }

  /** Wakes the waiters of `key` (its line changed). */
  private wake(key: string): void {
    for (const wake of this.wakers.get(key) ?? []) wake();
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
      // The first in line (on any daemon) looks at once.
      await open.query(`SELECT pg_advisory_unlock(${KEY}), pg_notify('${LINE_CHANNEL}', $1)`, [lock.key]);
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
    let session: { readonly pid: number; readonly started: string } | undefined;
    const onLost = (reason: string): void => {
      if (lost) return;
      lost = true;
      if (session) this.lostSessions.push(session);
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
    client.on('notification', (message) => {
      if (message.channel === LINE_CHANNEL && message.payload !== undefined) this.wake(message.payload);
    });
    const opening = client
      .connect()
      .then(async () => {
        const me = await client.query<{ pid: number; started: string }>('SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()');
        session = me.rows[0];
        await this.endLostSessions(client);
        await client.query(`LISTEN ${LINE_CHANNEL}`);
      })
      .then(
        () => client,
        (error: unknown) => {
          lost = true;
          client.end().catch(() => undefined);
          if (this.client === opening) this.client = undefined;
          throw error;
        },
      );
    return opening;
  }

  /**
   * Ends the server sessions of lock connections this daemon lost that PostgreSQL still keeps (a network cut leaves
   * them half-open): their advisory locks, held or a ticket's, would otherwise stand in the way of the very work that
   * now waits or takes them again on the new connection. A session that already ended is simply not found.
   */
  private async endLostSessions(client: pg.Client): Promise<void> {
    const lost = this.lostSessions;
    if (lost.length === 0) return;
    this.lostSessions = [];
    // Best effort: a role PostgreSQL does not let end its own sessions must still get its new connection.
    await client
      .query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE (pid, backend_start::text) IN (SELECT * FROM unnest($1::int[], $2::text[]))', [
        lost.map((each) => each.pid),
        lost.map((each) => each.started),
      ])
      .catch(() => undefined);
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
