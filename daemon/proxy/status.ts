import type { ServerProxy } from '../protocol/servers.js';
import type { Database } from '../store/database.js';

/** What an apply or a health check found of a server's proxy. */
export interface ProxySeen {
  readonly state: 'running' | 'unhealthy';
  readonly version: string | null;
  readonly error: string | null;
}

// A type, not an interface: the store's rows are records, which an interface is not assignable to.
type ProxyRow = {
  readonly server: string;
  readonly state: string;
  readonly version: string | null;
  readonly checked_at: string;
  readonly error: string | null;
};

/**
 * The last state of each server's proxy (the `proxies` table), kept in memory as well: the servers list reads it for
 * every row of a page, and only servers with a proxy have a row.
 */
export class ProxyStatusBook {
  private readonly rows = new Map<string, ProxyRow>();

  private constructor(
    private readonly store: Database,
    private readonly clock: () => Date,
  ) {}

  /** Reads the table once. */
  static async open(store: Database, clock: () => Date = () => new Date()): Promise<ProxyStatusBook> {
    const book = new ProxyStatusBook(store, clock);
    for (const row of await store.all<ProxyRow>('SELECT * FROM proxies')) book.rows.set(row.server, row);
    return book;
  }

  /** Records what was found; true when the state, version or error differs from what was known. */
  async record(server: string, seen: ProxySeen): Promise<boolean> {
    const before = this.rows.get(server);
    const row: ProxyRow = { server, state: seen.state, version: seen.version ?? before?.version ?? null, checked_at: this.clock().toISOString(), error: seen.error };
    // In memory at once: the views read it right after the change that saw it, before the write below is durable.
    this.rows.set(server, row);
    await this.store.transaction((tx) =>
      tx.run(
        'INSERT INTO proxies (server, state, version, checked_at, error) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (server) DO UPDATE SET state = excluded.state, version = excluded.version, checked_at = excluded.checked_at, error = excluded.error',
        [row.server, row.state, row.version, row.checked_at, row.error],
      ),
    );
    return before?.state !== row.state || before.version !== row.version || before.error !== row.error;
  }

  /** Forgets a server's proxy (removed from the server, or the server from the inventory). */
  async forget(server: string): Promise<void> {
    if (!this.rows.has(server)) return;
    this.rows.delete(server);
    await this.store.transaction((tx) => tx.run('DELETE FROM proxies WHERE server = ?', [server]));
  }

  /** The proxy of a server as the views show it, given how many domains route through it. */
  info(server: string, domains: number): ServerProxy {
    const row = this.rows.get(server);
    if (!row) return { state: domains > 0 ? 'unknown' : 'not-installed', version: null, domains, checkedAt: null, error: null };
    return { state: row.state === 'running' ? 'running' : 'unhealthy', version: row.version, domains, checkedAt: row.checked_at, error: row.error };
  }
}
