import type { Database } from '../store/database.js';

/** A row of the `domains` table. */
// A type, not an interface: the store's rows are records, which an interface is not assignable to.
export type DomainRow = {
  readonly domain: string;
  readonly project: string;
  readonly module: string;
  readonly server: string;
  readonly created_at: string;
  readonly dns_type: 'A' | 'AAAA' | null;
  readonly dns_content: string | null;
};

/** The domains table: one row per routed name. */
export class DomainStore {
  constructor(private readonly store: Database) {}

  /** One domain's row, if it is routed. */
  get(domain: string): Promise<DomainRow | undefined> {
    return this.store.get<DomainRow>('SELECT * FROM domains WHERE domain = ?', [domain]);
  }

  /** Every domain, or one project's, or one server's, sorted by name. */
  list(filter: { project?: string | undefined; server?: string | undefined } = {}): Promise<DomainRow[]> {
    if (filter.project !== undefined) return this.store.all<DomainRow>('SELECT * FROM domains WHERE project = ? ORDER BY domain', [filter.project]);
    if (filter.server !== undefined) return this.store.all<DomainRow>('SELECT * FROM domains WHERE server = ? ORDER BY domain', [filter.server]);
    return this.store.all<DomainRow>('SELECT * FROM domains ORDER BY domain');
  }

  /** How many domains each server's proxy routes (servers with none are absent). */
  async countByServer(): Promise<Map<string, number>> {
    const rows = await this.store.all<{ server: string; count: number }>('SELECT server, COUNT(*) AS count FROM domains GROUP BY server');
    return new Map(rows.map((row) => [row.server, row.count]));
  }

  /**
   * Stores a row, or updates the row of the same name if the same project holds it; false (and nothing written) when
   * another project holds the name, so a domain never moves between projects without being removed first.
   */
  async put(row: DomainRow): Promise<boolean> {
    return (
      (await this.store.transaction((tx) =>
        tx.run(
          'INSERT INTO domains (domain, project, module, server, created_at, dns_type, dns_content) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
            'ON CONFLICT (domain) DO UPDATE SET module = excluded.module, server = excluded.server, created_at = excluded.created_at, ' +
            'dns_type = excluded.dns_type, dns_content = excluded.dns_content WHERE domains.project = excluded.project',
          [row.domain, row.project, row.module, row.server, row.created_at, row.dns_type, row.dns_content],
        ),
      )) > 0
    );
  }

  /** Deletes a row; true if it was there. */
  async delete(domain: string): Promise<boolean> {
    return (await this.store.transaction((tx) => tx.run('DELETE FROM domains WHERE domain = ?', [domain]))) > 0;
  }
}
