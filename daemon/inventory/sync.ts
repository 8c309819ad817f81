import crypto from 'node:crypto';
import type { Notifier } from '../core/notifier.js';
import type { Provider, ProviderCallOptions, ProviderServerDetail, ProviderServerSummary } from '../providers/provider.js';
import { DEFAULT_SSH_PORT, DEFAULT_SSH_USER, type ServerStatus, ServersDidChange, type SyncResult } from '../protocol/servers.js';
import type { Database, DatabaseTransaction as Transaction } from '../store/database.js';
import { mapWithLimit } from './concurrency.js';
import { isGhost } from './inventory.js';
import { type ServerColumns, type ServerRow, insertServer, readServer, updateServer } from './records.js';

/** How many `GET /server/{id}` calls may run at once. */
const DETAIL_CONCURRENCY = 8;

/** A fingerprint of what the provider's list says about a server: details are fetched again only when it changes. */
export function summaryDigest(server: ProviderServerSummary): string {
  const canonical = JSON.stringify([server.id, server.name, server.domain, server.ip, server.status, server.productName]);
  return crypto.createHash('sha256').update(canonical).digest('hex').slice(0, 24);
}

/** A handle for a newly found provider server: `time4vps_123`, with a suffix if a server already uses it. */
async function newHandle(tx: Transaction, provider: string, id: string): Promise<string> {
  const base = `${provider}_${id.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}`.slice(0, 60);
  for (let suffix = 1; ; suffix++) {
    const candidate = suffix === 1 ? base : `${base}_${suffix}`;
    if (!(await readServer(tx, candidate))) return candidate;
  }
}

function providerColumns(summary: ProviderServerSummary, detail: ProviderServerDetail | undefined): ServerColumns {
  const columns: ServerColumns = {
    name: summary.name || summary.domain || summary.id,
    host: summary.ip || summary.domain,
    provider_status: summary.status,
    provider_digest: summaryDigest(summary),
  };
  if (detail) {
    columns.ram_mb = detail.ramMb;
    columns.disk_mb = detail.diskMb;
    columns.cpu_cores = detail.cpuCores;
    columns.os = detail.os;
  }
  return columns;
}

/**
 * The status a `missing` server gets when its provider lists it again. Whether it answers is what the last health
 * check said (one run while it was missing is newer than the status it had before); whether it is `in_use` or
 * `ready` is what its allocations say now, since some may have been released while it was missing. A server no
 * check ever reached stays `discovered`.
 */
export function restoredStatus(
  row: Pick<ServerRow, 'status_before_missing' | 'missing_since' | 'last_check_at' | 'last_check_error' | 'allocation_count'>,
): ServerStatus {
  // Both are ISO timestamps from the same clock, so text order is time order.
  const checkedWhileMissing = row.last_check_at !== null && row.missing_since !== null && row.last_check_at > row.missing_since;
  const answered = checkedWhileMissing
    ? row.last_check_error === null
    : row.status_before_missing === 'ready' || row.status_before_missing === 'in_use';
  if (answered) return row.allocation_count > 0 ? 'in_use' : 'ready';
  if (checkedWhileMissing || row.status_before_missing === 'unreachable') return 'unreachable';
  return 'discovered';
}

/**
 * Brings the inventory in line with a provider's account: new servers become `discovered`, servers gone from the
 * list become `missing` (never deleted; their allocations stay and are flagged), servers that come back are restored
 * (see {@link restoredStatus}). Details are fetched only for new or changed servers, and only rows that change are
 * written, all in one transaction.
 */
export class ProviderSync {
  constructor(
    private readonly store: Database,
    private readonly ghosts: () => readonly string[],
    private readonly notifier: Notifier,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Runs one sync with `provider`. */
  async sync(provider: Provider, call: ProviderCallOptions): Promise<SyncResult> {
    const fetched = await provider.withSession(call, async (session) => {
      const list = await session.listServers();
      const known = new Map(
        (
          await this.store.all<Pick<ServerRow, 'provider_id' | 'provider_digest'>>('SELECT provider_id, provider_digest FROM servers WHERE provider = ?', [provider.name])
        ).map((row) => [row.provider_id, row.provider_digest]),
      );
      const stale = list.filter((server) => known.get(server.id) !== summaryDigest(server));
      const details = await mapWithLimit(stale, DETAIL_CONCURRENCY, (server) => session.getServer(server.id));
      return { list, details: new Map(details.map((detail) => [detail.id, detail])) };
    });
    const result = await this.apply(provider.name, fetched.list, fetched.details);
    const changed = [...result.added, ...result.updated, ...result.missing, ...result.restored];
    if (changed.length > 0) this.notifier.notify(ServersDidChange, { handles: changed });
    return result;
  }

  private async apply(provider: string, list: readonly ProviderServerSummary[], details: ReadonlyMap<string, ProviderServerDetail>): Promise<SyncResult> {
    const now = this.clock().toISOString();
    const ghosts = this.ghosts();
    const result = { added: [] as string[], updated: [] as string[], missing: [] as string[], restored: [] as string[], unchanged: 0 };
    // Read again inside the transaction: the user may have changed servers while the provider was answering.
    await this.store.transaction(async (tx) => {
      const rows = new Map((await tx.all<ServerRow>('SELECT * FROM servers WHERE provider = ?', [provider])).map((row) => [row.provider_id, row]));
      const listed = new Set<string>();
      for (const summary of list) {
        listed.add(summary.id);
        const row = rows.get(summary.id);
        const detail = details.get(summary.id);
        if (!row) {
          const handle = await newHandle(tx, provider, summary.id);
          await insertServer(
            tx,
            handle,
            {
              ...providerColumns(summary, detail),
              ssh_port: DEFAULT_SSH_PORT,
              ssh_user: DEFAULT_SSH_USER,
              provider,
              provider_id: summary.id,
              managed: isGhost({ handle, provider_id: summary.id }, ghosts) ? 0 : 1,
              status: 'discovered',
            },
            now,
          );
          result.added.push(handle);
          continue;
        }
        const columns = providerColumns(summary, detail);
        // A health check measured this server's RAM: its total stays beside the free figure of the same reading.
        if (row.available_ram_mb !== null) delete columns.ram_mb;
        if (row.available_disk_mb !== null) delete columns.disk_mb;
        if (row.status === 'missing') {
          columns.status = restoredStatus(row);
          columns.status_before_missing = null;
          columns.missing_since = null;
        }
        if (!(await updateServer(tx, row, columns, now))) result.unchanged++;
        else if (row.status === 'missing') result.restored.push(row.handle);
        else result.updated.push(row.handle);
      }
      for (const row of rows.values()) {
        if (row.provider_id === null || listed.has(row.provider_id) || row.status === 'missing') continue;
        await updateServer(tx, row, { status: 'missing', status_before_missing: row.status, missing_since: now }, now);
        result.missing.push(row.handle);
      }
    });
    return { provider, total: list.length, ...result, detailsFetched: details.size };
  }
}
