import crypto from 'node:crypto';
import type { EndpointKind, EndpointSettings, NotifyEventKind } from '../protocol/notify.js';
import type { Database, DatabaseRow as Row, DatabaseTransaction as Transaction } from '../store/database.js';

/** An endpoint as stored: settings hold handles, never values. */
export interface EndpointRecord {
  readonly id: string;
  readonly name: string;
  readonly kind: EndpointKind;
  readonly events: readonly NotifyEventKind[];
  readonly ratePerMinute: number;
  readonly settings: EndpointSettings;
  readonly createdAt: string;
}

/** Where a delivery stands; see migration 12. */
export type DeliveryState = 'pending' | 'sending' | 'delivered' | 'failed';

/** One message for one endpoint, already redacted. */
export interface DeliveryRecord {
  readonly id: string;
  readonly endpointId: string;
  readonly event: NotifyEventKind;
  readonly subject: string;
  readonly title: string;
  readonly body: string;
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
  readonly createdAt: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAt: string;
}

/** A fresh random id with a prefix: `ntf_…` endpoints, `dlv_…` deliveries. */
export function newNotifyId(prefix: 'ntf' | 'dlv'): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `${prefix}_${[...crypto.randomBytes(10)].map((byte) => alphabet[byte % 32]).join('')}`;
}

/** The notification tables: endpoints, the delivery queue and what the watchers last saw. Every write is durable. */
export class NotifyStore {
  constructor(private readonly store: Database) {}

  /** Stores a new endpoint. */
  async addEndpoint(endpoint: EndpointRecord): Promise<void> {
    await this.store.transaction((tx) =>
      tx.run('INSERT INTO notify_endpoints (id, name, kind, events, rate_per_minute, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        endpoint.id,
        endpoint.name,
        endpoint.kind,
        JSON.stringify(endpoint.events),
        endpoint.ratePerMinute,
        JSON.stringify(endpoint.settings),
        endpoint.createdAt,
      ]),
    );
  }

  /** Runs `work` as one durable transaction (what a watcher saw and the messages it queued). */
  atomically<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.store.transaction(work);
  }

  /** Every endpoint, by name (read within `tx` when given). */
  async endpoints(tx?: Transaction): Promise<EndpointRecord[]> {
    return (await (tx ?? this.store).all('SELECT * FROM notify_endpoints ORDER BY name')).map(toEndpoint);
  }

  /** One endpoint, or undefined. */
  async endpoint(id: string): Promise<EndpointRecord | undefined> {
    const row = await this.store.get('SELECT * FROM notify_endpoints WHERE id = ?', [id]);
    return row ? toEndpoint(row) : undefined;
  }

  /** True if an endpoint has this name. */
  async hasName(name: string, reader: Pick<Transaction, 'get'> = this.store): Promise<boolean> {
    return (await reader.get('SELECT 1 AS one FROM notify_endpoints WHERE name = ?', [name])) !== undefined;
  }

  /** Removes an endpoint and the messages still waiting for it; answers how many were dropped. */
  removeEndpoint(id: string): Promise<{ removed: boolean; dropped: number }> {
    return this.store.transaction(async (tx) => {
      const dropped = await tx.run("DELETE FROM notify_deliveries WHERE endpoint_id = ? AND state IN ('pending', 'sending')", [id]);
      const removed = (await tx.run('DELETE FROM notify_endpoints WHERE id = ?', [id])) > 0;
      return { removed, dropped };
    });
  }

  /**
   * Queues messages, all in one durable transaction (within `tx` when given). A message for an endpoint whose queue
   * is held back (a retry's wait, its rate) waits as long, so it does not overtake the ones before it.
   */
  async enqueue(deliveries: readonly Omit<DeliveryRecord, 'state' | 'attempts'>[], tx?: Transaction): Promise<void> {
    if (deliveries.length === 0) return;
    const write = async (t: Transaction): Promise<void> => {
      for (const delivery of deliveries) {
        await t.run(
          `INSERT INTO notify_deliveries (id, endpoint_id, event, subject, title, body, detail, created_at, state, attempts, next_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0,
                   MAX(?, COALESCE((SELECT MAX(next_at) FROM notify_deliveries WHERE endpoint_id = ? AND state = 'pending'), '')))`,
          [delivery.id, delivery.endpointId, delivery.event, delivery.subject, delivery.title, delivery.body, JSON.stringify(delivery.detail), delivery.createdAt, delivery.nextAt, delivery.endpointId],
        );
      }
    };
    if (tx) await write(tx);
    else await this.store.transaction(write);
  }

  /**
   * Attempts a crash cut short (`sending` at start) go back to the queue: whether the receiver got the message is
   * unknown, and sending it again is better than losing it (webhooks carry the delivery id to tell a repeat).
   */
  requeueInterrupted(now: string): Promise<number> {
    return this.store.transaction(async (tx) => {
      // Most starts have nothing to requeue, and a statement that changes nothing is still journalled and fsynced.
      if ((await tx.get("SELECT 1 FROM notify_deliveries WHERE state = 'sending' LIMIT 1")) === undefined) return 0;
      return tx.run("UPDATE notify_deliveries SET state = 'pending', next_at = ? WHERE state = 'sending'", [now]);
    });
  }

  /** Pending messages due at `now`, oldest first. */
  async due(now: string, limit: number): Promise<DeliveryRecord[]> {
    return (await this.store.all("SELECT * FROM notify_deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY created_at, id LIMIT ?", [now, limit])).map(toDelivery);
  }

  /** When the next pending message falls due, if any. */
  async nextDue(): Promise<string | undefined> {
    const row = await this.store.get("SELECT MIN(next_at) AS next FROM notify_deliveries WHERE state = 'pending'");
    return row?.next === null || row?.next === undefined ? undefined : String(row.next);
  }

  /** Marks an attempt as started, durably, before anything is sent; answers its number, or undefined if the message is gone. */
  markSending(id: string): Promise<number | undefined> {
    return this.store.transaction(async (tx) => {
      if ((await tx.run("UPDATE notify_deliveries SET state = 'sending', attempts = attempts + 1 WHERE id = ? AND state = 'pending'", [id])) === 0) return undefined;
      return Number((await tx.get('SELECT attempts FROM notify_deliveries WHERE id = ?', [id]))?.attempts ?? 1);
    });
  }

  /** The receiver took it. */
  async markDelivered(id: string, at: string): Promise<void> {
    await this.store.transaction((tx) => tx.run("UPDATE notify_deliveries SET state = 'delivered', sent_at = ?, last_error = NULL WHERE id = ?", [at, id]));
  }

  /**
   * The attempt failed: try again at `nextAt`, or give up (`nextAt` undefined). A retry holds back the endpoint's
   * other pending messages until then as well: the wait (a 429's Retry-After, the backoff) is the endpoint's, and
   * the rest must not overtake the failed one.
   */
  async markFailed(id: string, error: string, nextAt: string | undefined): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (nextAt === undefined) {
        await tx.run("UPDATE notify_deliveries SET state = 'failed', last_error = ? WHERE id = ?", [error, id]);
        return;
      }
      await tx.run("UPDATE notify_deliveries SET state = 'pending', next_at = ?, last_error = ? WHERE id = ?", [nextAt, error, id]);
      await tx.run(
        "UPDATE notify_deliveries SET next_at = MAX(next_at, ?) WHERE endpoint_id = (SELECT endpoint_id FROM notify_deliveries WHERE id = ?) AND state = 'pending'",
        [nextAt, id],
      );
    });
  }

  /** Holds a message back until `nextAt` (the endpoint's rate), without counting an attempt. */
  async postpone(id: string, nextAt: string): Promise<void> {
    await this.store.transaction((tx) => tx.run("UPDATE notify_deliveries SET next_at = ? WHERE id = ? AND state = 'pending'", [nextAt, id]));
  }

  /** Forgets delivered and given-up messages created before `before`; answers how many. */
  prune(before: string): Promise<number> {
    return this.store.transaction(async (tx) => {
      // Runs at every start: with nothing to forget it writes nothing (no journal record, no fsync).
      if ((await tx.get("SELECT 1 FROM notify_deliveries WHERE state IN ('delivered', 'failed') AND created_at < ? LIMIT 1", [before])) === undefined) return 0;
      return tx.run("DELETE FROM notify_deliveries WHERE state IN ('delivered', 'failed') AND created_at < ?", [before]);
    });
  }

  /** An attempt stopped by shutdown: back to the queue without counting. */
  async putBack(id: string): Promise<void> {
    await this.store.transaction((tx) => tx.run("UPDATE notify_deliveries SET state = 'pending', attempts = MAX(attempts - 1, 0) WHERE id = ? AND state = 'sending'", [id]));
  }

  /** Times of the endpoint's deliveries since `since`, oldest first (its rate window). */
  async sentSince(endpointId: string, since: string): Promise<string[]> {
    return (await this.store.all("SELECT sent_at FROM notify_deliveries WHERE endpoint_id = ? AND state = 'delivered' AND sent_at > ? ORDER BY sent_at", [endpointId, since])).map(
      (row) => String(row.sent_at),
    );
  }

  /** Queue counts and the last outcome of one endpoint. */
  async stats(endpointId: string): Promise<{ pending: number; failed: number; lastDeliveredAt: string | null; lastError: string | null }> {
    const counts = await this.store.get(
      `SELECT SUM(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END) AS pending,
              SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed,
              MAX(sent_at) AS last
         FROM notify_deliveries WHERE endpoint_id = ?`,
      [endpointId],
    );
    const error = await this.store.get(
      "SELECT last_error FROM notify_deliveries WHERE endpoint_id = ? AND last_error IS NOT NULL AND state != 'delivered' ORDER BY created_at DESC LIMIT 1",
      [endpointId],
    );
    return {
      pending: Number(counts?.pending ?? 0),
      failed: Number(counts?.failed ?? 0),
      lastDeliveredAt: counts?.last === null || counts?.last === undefined ? null : String(counts.last),
      lastError: error?.last_error === undefined || error.last_error === null ? null : String(error.last_error),
    };
  }

  /** What a watcher last saw of `key`. */
  async seen(key: string): Promise<string | undefined> {
    const row = await this.store.get('SELECT value FROM notify_seen WHERE key = ?', [key]);
    return row === undefined ? undefined : String(row.value);
  }

  /** Every key a watcher has seen something of: one query where {@link seen} per key took 5,000 at a start. */
  async seenKeys(): Promise<Set<string>> {
    return new Set((await this.store.all('SELECT key FROM notify_seen')).map((row) => String(row.key)));
  }

  /** Records what a watcher saw; answers the value it saw before (undefined the first time). */
  see(key: string, value: string, at: string, tx?: Transaction): Promise<string | undefined> {
    const write = async (t: Transaction): Promise<string | undefined> => {
      const before = await t.get('SELECT value FROM notify_seen WHERE key = ?', [key]);
      if (before !== undefined && String(before.value) === value) return value;
      await t.run('INSERT INTO notify_seen (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at', [key, value, at]);
      return before === undefined ? undefined : String(before.value);
    };
    return tx ? write(tx) : this.store.transaction(write);
  }
}

function toEndpoint(row: Row): EndpointRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    kind: String(row.kind) as EndpointKind,
    events: JSON.parse(String(row.events)) as NotifyEventKind[],
    ratePerMinute: Number(row.rate_per_minute),
    settings: JSON.parse(String(row.settings)) as EndpointSettings,
    createdAt: String(row.created_at),
  };
}

function toDelivery(row: Row): DeliveryRecord {
  return {
    id: String(row.id),
    endpointId: String(row.endpoint_id),
    event: String(row.event) as NotifyEventKind,
    subject: String(row.subject),
    title: String(row.title),
    body: String(row.body),
    detail: JSON.parse(String(row.detail)) as DeliveryRecord['detail'],
    createdAt: String(row.created_at),
    state: String(row.state) as DeliveryState,
    attempts: Number(row.attempts),
    nextAt: String(row.next_at),
  };
}
