import pg from 'pg';
import type { SharedLockHolder, SharedLockOutcome } from '../../core/sharedLocks.js';
import { type DatabaseAddress, storeError } from './errors.js';

/** The 64-bit advisory lock key of a lock name: the same on every daemon (PostgreSQL hashes it). */
const KEY = 'hashtextextended($1, 0)';

/**
 * Locks that span the team's daemons: PostgreSQL session advisory locks on one connection of this daemon's own (a
 * pooled connection would carry the lock to unrelated work), so a daemon that dies or is cut off lets go of its
 * locks with its connection. Who holds each lock is written to `shared_locks`, for the message another member gets.
 */
export class SessionLocks {
  private client: Promise<pg.Client> | undefined;
  /** Locks this daemon holds: name → holder. A session lock is re-entrant, so this daemon's own are checked here. */
  private readonly held = new Map<string, SharedLockHolder>();
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly address: DatabaseAddress,
    /** Told when the connection holding the locks was lost: the locks went with it. */
    private readonly onLost: (reason: string, locks: readonly string[]) => void,
  ) {}

  /** Takes `key` for `holder` unless a daemon (this one included) holds it; then answers who does. */
  async lock(key: string, holder: SharedLockHolder): Promise<SharedLockOutcome> {
    const mine = this.held.get(key);
    if (mine) return { heldBy: mine };
    try {
      const client = await this.connection();
      // The store's type parsers answer a boolean as SQLite would (1 or 0).
      const taken = await client.query<{ got: number }>(`SELECT pg_try_advisory_lock(${KEY})::int AS got`, [key]);
      if (Number(taken.rows[0]?.got) !== 1) {
        const row = await client.query<{ member: string; activity: string; since: string }>('SELECT member, activity, since FROM shared_locks WHERE key = $1', [key]);
        const found = row.rows[0];
        return { heldBy: found ?? { member: 'another member', activity: 'work', since: new Date().toISOString() } };
      }
      this.held.set(key, holder);
      try {
        await client.query(
          'INSERT INTO shared_locks (key, member, activity, since) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET member = EXCLUDED.member, activity = EXCLUDED.activity, since = EXCLUDED.since',
          [key, holder.member, holder.activity, holder.since],
        );
      } catch (error) {
        this.held.delete(key);
        await client.query(`SELECT pg_advisory_unlock(${KEY})`, [key]).catch(() => undefined);
        throw error;
      }
      let released = false;
      const release = async (): Promise<void> => {
        if (released) return;
        released = true;
        if (this.held.get(key) !== holder) return;
        this.held.delete(key);
        const current = this.client;
        if (!current) return;
        const open = await current;
        await open.query('DELETE FROM shared_locks WHERE key = $1 AND member = $2 AND since = $3', [key, holder.member, holder.since]);
        await open.query(`SELECT pg_advisory_unlock(${KEY})`, [key]);
      };
      return { held: { release } };
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
      const locks = [...this.held.keys()];
      this.held.clear();
      if (!this.closed && locks.length > 0) this.onLost(reason, locks);
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
}
