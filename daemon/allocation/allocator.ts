import { ZavhozError } from '../core/errors.js';
import type { Notifier } from '../core/notifier.js';
import { type ServerAllocations } from '../inventory/inventory.js';
import { type ServerRow, listeningPortsOf, readServer } from '../inventory/records.js';
import {
  type AllocateResult,
  type Allocation,
  type AllocationFlag,
  type AllocationsAllocate,
  AllocationsDidChange,
  DEFAULT_MODULE,
} from '../protocol/allocations.js';
import type { ValidatedParams } from '../protocol/define.js';
import { ErrorCodes } from '../protocol/errors.js';
import { ServersDidChange } from '../protocol/servers.js';
import type { Database, DatabaseTransaction as Transaction } from '../store/database.js';
import { explainRefusals, usableFor } from './constraints.js';
import { PortMap } from './ports.js';

/** What a caller asks for: a project, optionally its modules, and what each new module needs. */
export type AllocationRequest = Readonly<ValidatedParams<typeof AllocationsAllocate>>;

interface AllocationRow {
  [column: string]: string | number | null | Uint8Array;
  project: string;
  module: string;
  server: string;
  port: number;
  ram_mb: number;
  created_at: string;
  /** The module's switchover slot behind the proxy (migration 14), once handed out. */
  slot_port?: number | null;
}

interface ListedRow extends AllocationRow {
  server_status: string | null;
  server_managed: number | null;
}

const HIGHEST_PORT = 65_535;

/**
 * The lock every allocating transaction takes first. On a team's shared store other members' daemons allocate too,
 * so reading the free ports and RAM, choosing and inserting must not interleave with theirs; on the embedded store
 * the daemon's transactions already run one at a time and the lock costs nothing.
 */
const ALLOCATION_LOCK = 'allocations';

function toAllocation(row: AllocationRow, serverStatus: string | null | undefined): Allocation {
  const flags: AllocationFlag[] = [];
  if (serverStatus === 'missing' || serverStatus === null) flags.push('server-missing');
  if (serverStatus === 'unreachable') flags.push('server-unreachable');
  return {
    project: row.project,
    module: row.module,
    server: row.server,
    port: row.port,
    ramMb: row.ram_mb,
    createdAt: row.created_at,
    flags,
  };
}

/**
 * Decides which server and ports each module of a project gets, deterministically: the managed, reachable server
 * with the most RAM left after reservations (ties: fewer services, then handle), one server per project, ports from
 * 8000 up that are neither allocated nor seen listening. The existing rows are read, the choice made and the rows
 * inserted in one transaction, so concurrent requests cannot interleave between them (the daemon's transactions run
 * one at a time): a repeated request gets the same allocation, and no port is handed out twice.
 */
export class Allocator implements ServerAllocations {
  private readonly ports = new PortMap();
  /** Whether {@link ports} holds the table yet: it is read in the first transaction that needs it. */
  private portsLoaded = false;

  constructor(
    private readonly store: Database,
    private readonly notifier: Notifier,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Allocates what is missing of a project and returns all of it; an already allocated project is returned as is. */
  async allocate(request: AllocationRequest): Promise<AllocateResult> {
    const now = this.clock().toISOString();
    const taken: Allocation[] = [];
    let outcome: Awaited<ReturnType<Allocator['allocateIn']>>;
    try {
      outcome = await this.store.transaction((tx) => this.allocateIn(tx, request, now, taken));
    } catch (error) {
      // Taken inside the transaction (so the next one sees them); given back with it.
      for (const allocation of taken) this.ports.free(allocation.server, allocation.port);
      throw error;
    }
    if (outcome.created.length > 0) {
      this.notifier.notify(AllocationsDidChange, { projects: [request.project] });
      this.notifier.notify(ServersDidChange, { handles: [outcome.server] });
    }
    return {
      project: request.project,
      server: outcome.server,
      allocations: outcome.allocations,
      created: outcome.created.map((allocation) => allocation.module),
    };
  }

  /**
   * The switchover slot of a module behind the proxy: a second port on the module's server, where its next release
   * answers beside the old one during a deploy. Handed out once, as the lowest port neither allocated (as anyone's port
   * or slot) nor seen listening, and kept until the module is released, so asking again gives the same port.
   * Undefined when the module has no allocation.
   */
  async slotPort(project: string, module: string): Promise<number | undefined> {
    const query = 'SELECT * FROM allocations WHERE project = ? AND module = ?';
    const known = await this.store.get<AllocationRow>(query, [project, module]);
    if (!known) return undefined;
    if (known.slot_port !== null && known.slot_port !== undefined) return known.slot_port;
    let taken: { server: string; port: number } | undefined;
    let handed: { server: string; port: number; created: boolean } | undefined;
    try {
      handed = await this.store.transaction(async (tx) => {
        await tx.lock(ALLOCATION_LOCK);
        await this.loadPorts(tx);
        const row = await tx.get<AllocationRow>(query, [project, module]);
        if (!row) return undefined;
        if (row.slot_port !== null && row.slot_port !== undefined) return { server: row.server, port: row.slot_port, created: false };
        await this.refreshServerPorts(tx, row.server);
        const server = await readServer(tx, row.server);
        const listening = new Set(server ? listeningPortsOf(server) : []);
        const port = this.ports.firstFree(row.server, (candidate) => listening.has(candidate));
        if (port === undefined) {
          throw new ZavhozError(ErrorCodes.PreconditionFailed, `Server ${row.server} has no free TCP port from 8000 up for the switchover of ${project}/${module}. Release allocations there first.`);
        }
        await tx.run('UPDATE allocations SET slot_port = ? WHERE project = ? AND module = ?', [port, project, module]);
        // Taken inside the transaction, so the next one sees it; given back if this one fails.
        this.ports.take(row.server, port);
        taken = { server: row.server, port };
        return { server: row.server, port, created: true };
      });
    } catch (error) {
      if (taken) this.ports.free(taken.server, taken.port);
      throw error;
    }
    if (handed?.created) this.notifier.notify(AllocationsDidChange, { projects: [project] });
    return handed?.port;
  }

  /**
   * Gives a module's switchover slot back (its last domain went, so nothing switches over through it any more): the
   * port is free for the next allocation or slot. Returns the port it held, or undefined when it held none.
   */
  async releaseSlot(project: string, module: string): Promise<number | undefined> {
    const released = await this.store.transaction(async (tx) => {
      const row = await tx.get<AllocationRow>('SELECT * FROM allocations WHERE project = ? AND module = ?', [project, module]);
      if (!row || row.slot_port === null || row.slot_port === undefined) return undefined;
      await tx.run('UPDATE allocations SET slot_port = NULL WHERE project = ? AND module = ?', [project, module]);
      return { server: row.server, port: row.slot_port };
    });
    if (!released) return undefined;
    // Freed once the transaction committed, like a release: a failed one keeps the port taken.
    this.ports.free(released.server, released.port);
    this.notifier.notify(AllocationsDidChange, { projects: [project] });
    return released.port;
  }

  /** Every allocation, or one project's, with flags for servers that went missing or unreachable. */
  async list(project?: string): Promise<Allocation[]> {
    const select = `SELECT a.*, s.status AS server_status FROM allocations a LEFT JOIN servers s ON s.handle = a.server`;
    const rows = project
      ? await this.store.all<ListedRow>(`${select} WHERE a.project = ? ORDER BY a.module`, [project])
      : await this.store.all<ListedRow>(`${select} ORDER BY a.project, a.module`);
    return rows.map((row) => toAllocation(row, row.server_status));
  }

  /** Up to `limit` allocations by project and module, starting after `after`: one page of `allocations/list`. */
  async listPage(options: { project: string | undefined; after: readonly [string, string] | undefined; limit: number }): Promise<Allocation[]> {
    const select = `SELECT a.*, s.status AS server_status FROM allocations a LEFT JOIN servers s ON s.handle = a.server`;
    const [afterProject, afterModule] = options.after ?? ['', ''];
    const rows = options.project
      ? await this.store.all<ListedRow>(`${select} WHERE a.project = ? AND (a.project, a.module) > (?, ?) ORDER BY a.project, a.module LIMIT ?`, [
          options.project,
          afterProject,
          afterModule,
          options.limit,
        ])
      : await this.store.all<ListedRow>(`${select} WHERE (a.project, a.module) > (?, ?) ORDER BY a.project, a.module LIMIT ?`, [afterProject, afterModule, options.limit]);
    return rows.map((row) => toAllocation(row, row.server_status));
  }

  /** Releases a project's allocations (or one module's) and gives their ports and RAM back. */
  async release(project: string, module?: string): Promise<Allocation[]> {
    const released = await this.store.transaction(async (tx) => {
      const rows = module
        ? await tx.all<AllocationRow>('SELECT * FROM allocations WHERE project = ? AND module = ?', [project, module])
        : await tx.all<AllocationRow>('SELECT * FROM allocations WHERE project = ?', [project]);
      for (const row of rows) {
        await tx.run('DELETE FROM allocations WHERE project = ? AND module = ?', [row.project, row.module]);
      }
      await this.giveBack(tx, rows);
      return rows;
    });
    if (released.length === 0) {
      const what = module ? `Module ${module} of project ${project}` : `Project ${project}`;
      throw new ZavhozError(ErrorCodes.NotFound, `${what} has no allocation. \`zavhoz allocation list\` shows what is allocated.`);
    }
    for (const row of released) {
      this.ports.free(row.server, row.port);
      if (row.slot_port !== null && row.slot_port !== undefined) this.ports.free(row.server, row.slot_port);
    }
    this.notifier.notify(AllocationsDidChange, { projects: [project] });
    this.notifier.notify(ServersDidChange, { handles: [...new Set(released.map((row) => row.server))] });
    return released.map((row) => toAllocation(row, undefined));
  }

  /** Deletes every allocation on a server inside `tx` (server removal or ghosting with --force). */
  async releaseServerIn(tx: Transaction, server: string): Promise<Allocation[]> {
    const rows = await tx.all<AllocationRow>('SELECT * FROM allocations WHERE server = ?', [server]);
    if (rows.length === 0) return [];
    await tx.run('DELETE FROM allocations WHERE server = ?', [server]);
    await this.giveBack(tx, rows);
    return rows.map((row) => toAllocation(row, undefined));
  }

  /** Drops the released ports of a server once its transaction committed. */
  afterServerReleased(server: string, released: readonly Allocation[]): void {
    if (released.length === 0) return;
    this.ports.forget(server);
    this.notifier.notify(AllocationsDidChange, { projects: [...new Set(released.map((allocation) => allocation.project))] });
  }

  private async allocateIn(
    tx: Transaction,
    request: AllocationRequest,
    now: string,
    taken: Allocation[],
  ): Promise<{ server: string; allocations: Allocation[]; created: Allocation[] }> {
    await tx.lock(ALLOCATION_LOCK);
    await this.loadPorts(tx);
    const existing = await tx.all<ListedRow>(
      'SELECT a.*, s.status AS server_status, s.managed AS server_managed FROM allocations a LEFT JOIN servers s ON s.handle = a.server WHERE a.project = ? ORDER BY a.module',
      [request.project],
    );
    const wanted = request.modules ?? (existing.length > 0 ? [] : [DEFAULT_MODULE]);
    const have = new Set(existing.map((row) => row.module));
    const missing = [...new Set(wanted)].filter((module) => !have.has(module));
    const first = existing[0];
    if (first && (first.server_managed ?? 1) === 0) {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `Project ${request.project} is allocated on ${first.server}, which is now a ghost server (not managed). Release it with \`zavhoz allocation release --project ${request.project}\` or make the server managed with \`zavhoz server manage ${first.server}\`.`,
        { project: request.project, server: first.server },
      );
    }
    const current = existing.map((row) => toAllocation(row, row.server_status));
    if (missing.length === 0) {
      if (!first) throw new ZavhozError(ErrorCodes.InvalidInput, 'Name at least one module to allocate.');
      return { server: first.server, allocations: current, created: [] };
    }

    const need = { modules: missing.length, ramMb: request.minRamMb * missing.length, diskMb: request.minDiskMb };
    let server: ServerRow;
    if (first) {
      // A project lives on one server: new modules go where the others are, or nowhere.
      const found = await readServer(tx, first.server);
      const refusal = found ? usableFor(found, need) : 'it is no longer in the inventory';
      if (!found || refusal !== undefined) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Cannot add ${missing.join(', ')} to project ${request.project}: its modules live on ${first.server} and ${refusal}. A project is never split across servers; free capacity there or release the project and allocate it again.`,
          { project: request.project, server: first.server, constraint: refusal },
        );
      }
      server = found;
    } else {
      // INDEXED BY: the planner would pick servers_choice and sort every server (3.9 ms at 10,000 servers).
      const best = await tx.get<ServerRow>(
        `SELECT * FROM servers INDEXED BY servers_by_room
           WHERE managed = 1 AND status IN ('ready', 'in_use')
             AND COALESCE(available_ram_mb, ram_mb, 0) - reserved_ram_mb >= ?
             AND COALESCE(available_disk_mb, disk_mb, 0) >= ?
             AND allocation_count < ?
           ORDER BY COALESCE(available_ram_mb, ram_mb, 0) - reserved_ram_mb DESC, allocation_count ASC, handle ASC
           LIMIT 1`,
        [need.ramMb, need.diskMb, HIGHEST_PORT],
      );
      if (!best) throw await explainRefusals(tx, request.project, need);
      server = best;
    }

    await this.refreshServerPorts(tx, server.handle);
    const listening = new Set(listeningPortsOf(server));
    const chosen = new Set<number>();
    const created: Allocation[] = [];
    for (const module of missing) {
      const port = this.ports.firstFree(server.handle, (candidate) => listening.has(candidate) || chosen.has(candidate));
      if (port === undefined) {
        throw new ZavhozError(ErrorCodes.PreconditionFailed, `Server ${server.handle} has no free TCP port from 8000 up. Release allocations there first.`);
      }
      chosen.add(port);
      await tx.run('INSERT INTO allocations (project, module, server, port, ram_mb, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        request.project,
        module,
        server.handle,
        port,
        request.minRamMb,
        now,
      ]);
      const allocation = toAllocation({ project: request.project, module, server: server.handle, port, ram_mb: request.minRamMb, created_at: now }, server.status);
      created.push(allocation);
      this.ports.take(server.handle, port);
      taken.push(allocation);
    }
    await tx.run(
      `UPDATE servers SET reserved_ram_mb = reserved_ram_mb + ?, allocation_count = allocation_count + ?,
         status = CASE status WHEN 'ready' THEN 'in_use' ELSE status END, updated_at = ? WHERE handle = ?`,
      [need.ramMb, missing.length, now, server.handle],
    );
    const allocations = [...current, ...created].sort((left, right) => left.module.localeCompare(right.module));
    return { server: server.handle, allocations, created };
  }

  /**
   * On a shared store, reads one server's ports (and slots) afresh under the allocation lock: other members' daemons
   * allocate there too, so this daemon's map is only a start. The embedded store's map is the table's.
   */
  private async refreshServerPorts(tx: Transaction, server: string): Promise<void> {
    if (this.store.engine === 'embedded') return;
    const rows = await tx.all<{ port: number }>('SELECT port FROM allocations WHERE server = ? UNION ALL SELECT slot_port AS port FROM allocations WHERE server = ? AND slot_port IS NOT NULL', [server, server]);
    this.ports.forget(server);
    for (const row of rows) this.ports.take(server, row.port);
  }

  /** Fills {@link ports} from the table (ports and switchover slots) in the first transaction that needs it. */
  private async loadPorts(tx: Transaction): Promise<void> {
    if (this.portsLoaded) return;
    this.ports.load(
      await tx.all<{ server: string; port: number }>('SELECT server, port FROM allocations UNION ALL SELECT server, slot_port AS port FROM allocations WHERE slot_port IS NOT NULL'),
    );
    this.portsLoaded = true;
  }

  /** Returns the RAM and service slots of released rows to their servers. */
  private async giveBack(tx: Transaction, rows: readonly AllocationRow[]): Promise<void> {
    const perServer = new Map<string, { ramMb: number; count: number }>();
    for (const row of rows) {
      const total = perServer.get(row.server) ?? { ramMb: 0, count: 0 };
      total.ramMb += row.ram_mb;
      total.count += 1;
      perServer.set(row.server, total);
    }
    const now = this.clock().toISOString();
    for (const [server, total] of perServer) {
      await tx.run(
        `UPDATE servers SET reserved_ram_mb = MAX(0, reserved_ram_mb - ?), allocation_count = MAX(0, allocation_count - ?),
           status = CASE WHEN status = 'in_use' AND allocation_count - ? <= 0 THEN 'ready' ELSE status END, updated_at = ?
         WHERE handle = ?`,
        [total.ramMb, total.count, total.count, now, server],
      );
    }
  }
}
