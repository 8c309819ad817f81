import { ZavhozError, notFound } from '../core/errors.js';
import type { Notifier } from '../core/notifier.js';
import type { Allocation } from '../protocol/allocations.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { ValidatedParams } from '../protocol/define.js';
import { type ServerInfo, type ServersAdd, ServersDidChange, type ServersUpdate } from '../protocol/servers.js';
import type { SettingsService } from '../settings/settings.js';
import type { Database, DatabaseTransaction as Transaction } from '../store/database.js';
import type { SecretReader } from '../vault/api.js';
import { type ServerRow, insertServer, readServer, toServerInfo, updateServer } from './records.js';

/** A server added by hand. */
export type NewServer = Readonly<ValidatedParams<typeof ServersAdd>>;

/** Fields of a server the user may change. `sshKeySecret: null` removes the key. */
export type ServerChanges = Readonly<Omit<ValidatedParams<typeof ServersUpdate>, 'handle'>>;

/** What the inventory needs from the allocation ledger to remove or ghost a server that hosts modules. */
export interface ServerAllocations {
  /** Deletes every allocation on `server` inside `tx`; returns what it released. */
  releaseServerIn(tx: Transaction, server: string): Promise<Allocation[]>;
  /** Called after the transaction above committed, to drop cached state and tell clients. */
  afterServerReleased(server: string, released: readonly Allocation[]): void;
}

/** True if `row` is named by the ghost list, by handle or by provider id. */
export function isGhost(row: Pick<ServerRow, 'handle' | 'provider_id'>, ghosts: readonly string[]): boolean {
  return ghosts.includes(row.handle) || (row.provider_id !== null && ghosts.includes(row.provider_id));
}

/**
 * The server inventory: servers added by hand or found by a provider, with their managed flag kept in line with
 * the `ghostServers` setting. Ghost servers are stored but never offered to automation.
 */
export class Inventory {
  constructor(
    private readonly store: Database,
    private readonly settings: SettingsService,
    private readonly notifier: Notifier,
    private readonly allocations: ServerAllocations,
    private readonly secrets: Pick<SecretReader, 'has'>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Servers by handle; managed ones only unless `all`. */
  async list(options: { all?: boolean } = {}): Promise<ServerInfo[]> {
    const rows = options.all
      ? await this.store.all<ServerRow>('SELECT * FROM servers ORDER BY handle')
      : await this.store.all<ServerRow>('SELECT * FROM servers WHERE managed = 1 ORDER BY handle');
    return rows.map(toServerInfo);
  }

  /** The handle and status of every managed server, by handle: what needs no more reads only these columns. */
  async statuses(): Promise<{ handle: string; status: ServerInfo['status'] }[]> {
    return this.store.all<{ handle: string; status: ServerInfo['status'] }>('SELECT handle, status FROM servers WHERE managed = 1 ORDER BY handle');
  }

  /** Up to `limit` servers by handle, starting after the handle `after`: one page of `servers/list`. */
  async listPage(options: { all: boolean; after: string | undefined; limit: number }): Promise<ServerInfo[]> {
    const managed = options.all ? '' : ' AND managed = 1';
    const rows = await this.store.all<ServerRow>(`SELECT * FROM servers WHERE handle > ?${managed} ORDER BY handle LIMIT ?`, [options.after ?? '', options.limit]);
    return rows.map(toServerInfo);
  }

  /** One server, or NotFound with a hint. */
  async show(handle: string): Promise<ServerInfo> {
    return toServerInfo(await this.row(handle));
  }

  /** The stored row of one server, or NotFound. */
  async row(handle: string): Promise<ServerRow> {
    const row = await readServer(this.store, handle);
    if (!row) throw notFound(`Server ${handle}`, 'List servers with `zavhoz server list --all`.');
    return row;
  }

  /** Adds a server by hand; `discovered` until a health check reaches it. */
  async add(server: NewServer): Promise<ServerInfo> {
    await this.requireSecret(server.sshKeySecret);
    const ghosts = this.settings.get('ghostServers');
    const now = this.clock().toISOString();
    await this.store.transaction(async (tx) => {
      if (await readServer(tx, server.handle)) {
        throw new ZavhozError(ErrorCodes.AlreadyExists, `A server named ${server.handle} already exists. Pick another handle or change it with \`zavhoz server update\`.`);
      }
      await insertServer(
        tx,
        server.handle,
        {
          name: server.handle,
          host: server.host,
          ssh_port: server.sshPort,
          ssh_user: server.sshUser,
          ssh_key_secret: server.sshKeySecret ?? null,
          ram_mb: server.ramMb ?? null,
          disk_mb: server.diskMb ?? null,
          cpu_cores: server.cpuCores ?? null,
          labels: JSON.stringify([...new Set(server.labels)]),
          managed: isGhost({ handle: server.handle, provider_id: null }, ghosts) ? 0 : 1,
          status: 'discovered',
        },
        now,
      );
    });
    this.changed([server.handle]);
    return this.show(server.handle);
  }

  /** Changes how a server is reached or described. A new host or port keeps the pinned host key: a changed key is refused. */
  async update(handle: string, changes: ServerChanges): Promise<ServerInfo> {
    await this.requireSecret(changes.sshKeySecret);
    const now = this.clock().toISOString();
    const wrote = await this.store.transaction(async (tx) => {
      const row = await readServer(tx, handle);
      if (!row) throw notFound(`Server ${handle}`, 'List servers with `zavhoz server list --all`.');
      return updateServer(
        tx,
        row,
        {
          host: changes.host,
          ssh_port: changes.sshPort,
          ssh_user: changes.sshUser,
          ssh_key_secret: changes.sshKeySecret,
          ram_mb: changes.ramMb,
          // A total given by hand has no free figure of the same source until the next health check measures both.
          available_ram_mb: changes.ramMb === undefined || changes.ramMb === row.ram_mb ? undefined : null,
          disk_mb: changes.diskMb,
          available_disk_mb: changes.diskMb === undefined || changes.diskMb === row.disk_mb ? undefined : null,
          cpu_cores: changes.cpuCores,
          labels: changes.labels === undefined ? undefined : JSON.stringify([...new Set(changes.labels)]),
        },
        now,
      );
    });
    if (wrote) this.changed([handle]);
    return this.show(handle);
  }

  /** Removes a server. Refused while modules are allocated on it unless `force`, which releases them first. */
  async remove(handle: string, force: boolean): Promise<{ removed: string; releasedAllocations: number }> {
    const released = await this.store.transaction(async (tx) => {
      const row = await readServer(tx, handle);
      if (!row) throw notFound(`Server ${handle}`, 'List servers with `zavhoz server list --all`.');
      if (row.allocation_count > 0 && !force) {
        throw new ZavhozError(
          ErrorCodes.Conflict,
          `Server ${handle} hosts ${row.allocation_count} allocated module(s). Release them first (\`zavhoz allocation list\` shows which), or remove with --force to release them.`,
          { server: handle, allocations: row.allocation_count },
        );
      }
      const releasedHere = await this.allocations.releaseServerIn(tx, handle);
      await tx.run('DELETE FROM servers WHERE handle = ?', [handle]);
      return releasedHere;
    });
    this.allocations.afterServerReleased(handle, released);
    this.changed([handle]);
    return { removed: handle, releasedAllocations: released.length };
  }

  /** Makes a server managed: takes its handle and provider id off the ghost list. */
  async manage(handle: string): Promise<ServerInfo> {
    const row = await this.row(handle);
    const ghosts = this.settings.get('ghostServers');
    const kept = ghosts.filter((entry) => entry !== row.handle && entry !== row.provider_id);
    if (kept.length !== ghosts.length) await this.settings.set('ghostServers', kept);
    await this.reevaluateGhosts();
    return this.show(handle);
  }

  /** Makes a server a ghost. Refused while modules are allocated on it unless `force`, which releases them. */
  async ghost(handle: string, force: boolean): Promise<ServerInfo> {
    const row = await this.row(handle);
    if (row.allocation_count > 0) {
      if (!force) {
        throw new ZavhozError(
          ErrorCodes.Conflict,
          `Server ${handle} hosts ${row.allocation_count} allocated module(s); a ghost server is never offered to automation. Release them first, or use --force to release them.`,
          { server: handle, allocations: row.allocation_count },
        );
      }
      const released = await this.store.transaction((tx) => this.allocations.releaseServerIn(tx, handle));
      this.allocations.afterServerReleased(handle, released);
    }
    const ghosts = this.settings.get('ghostServers');
    if (!isGhost(row, ghosts)) await this.settings.set('ghostServers', [...ghosts, handle]);
    await this.reevaluateGhosts();
    return this.show(handle);
  }

  /** Brings every row's managed flag in line with the ghost list; writes only rows that change. */
  async reevaluateGhosts(): Promise<string[]> {
    const ghosts = this.settings.get('ghostServers');
    const now = this.clock().toISOString();
    // Read and flipped in one transaction, so a server added meanwhile is not left out or flipped twice.
    const flips = await this.store.transaction(async (tx) => {
      const rows = await tx.all<Pick<ServerRow, 'handle' | 'provider_id' | 'managed'>>('SELECT handle, provider_id, managed FROM servers');
      const flipped = rows.filter((row) => (isGhost(row, ghosts) ? 0 : 1) !== row.managed);
      for (const row of flipped) {
        await tx.run('UPDATE servers SET managed = ?, updated_at = ? WHERE handle = ?', [row.managed === 1 ? 0 : 1, now, row.handle]);
      }
      return flipped;
    });
    if (flips.length === 0) return [];
    const handles = flips.map((row) => row.handle);
    this.changed(handles);
    return handles;
  }

  private async requireSecret(handle: string | null | undefined): Promise<void> {
    if (handle && !(await this.secrets.has(handle))) {
      throw new ZavhozError(
        ErrorCodes.NotFound,
        `No secret with handle ${handle}. Store the SSH private key with \`zavhoz secret set NAME --type private_key < keyfile\` and pass the handle it prints (\`zavhoz secret list\` shows them).`,
      );
    }
  }

  /** Tells every client that these servers changed. */
  changed(handles: readonly string[]): void {
    if (handles.length > 0) this.notifier.notify(ServersDidChange, { handles: [...handles] });
  }
}
