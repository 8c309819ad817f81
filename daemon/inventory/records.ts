import type { ServerInfo, ServerStatus } from '../protocol/servers.js';
import type { DatabaseRow as Row, DatabaseTransaction as Transaction } from '../store/database.js';
import type { SqlValue } from '../store/journal.js';

/** A `servers` row as stored. */
export interface ServerRow extends Row {
  handle: string;
  name: string;
  host: string;
  ssh_port: number;
  ssh_user: string;
  ssh_key_secret: string | null;
  ram_mb: number | null;
  disk_mb: number | null;
  cpu_cores: number | null;
  available_ram_mb: number | null;
  available_disk_mb: number | null;
  listening_ports: string;
  labels: string;
  provider: string | null;
  provider_id: string | null;
  provider_status: string | null;
  provider_digest: string | null;
  os: string | null;
  managed: number;
  status: string;
  status_before_missing: string | null;
  missing_since: string | null;
  host_key_fingerprint: string | null;
  offered_host_key_fingerprint: string | null;
  last_check_at: string | null;
  last_check_error: string | null;
  reserved_ram_mb: number;
  allocation_count: number;
  created_at: string;
  updated_at: string;
}

/** The columns a caller may set on a server row (everything but the key and bookkeeping). */
export type ServerColumns = Partial<Omit<ServerRow, 'handle' | 'created_at' | 'updated_at'>>;

const COLUMNS: readonly (keyof ServerColumns)[] = [
  'name', 'host', 'ssh_port', 'ssh_user', 'ssh_key_secret', 'ram_mb', 'disk_mb', 'cpu_cores', 'available_ram_mb',
  'available_disk_mb', 'listening_ports', 'labels', 'provider', 'provider_id', 'provider_status', 'provider_digest', 'os',
  'managed', 'status', 'status_before_missing', 'missing_since', 'host_key_fingerprint', 'offered_host_key_fingerprint',
  'last_check_at', 'last_check_error', 'reserved_ram_mb', 'allocation_count',
];

/** Parses a JSON array column, tolerating damage (an empty list is the safe reading). */
function jsonList<T>(text: string): T[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}

/** The ports a server was seen listening on, from its row. */
export function listeningPortsOf(row: Pick<ServerRow, 'listening_ports'>): number[] {
  return jsonList<number>(row.listening_ports).filter((port) => Number.isInteger(port));
}

/** Turns a stored row into what clients see. */
export function toServerInfo(row: ServerRow): ServerInfo {
  return {
    handle: row.handle,
    name: row.name,
    host: row.host,
    sshPort: row.ssh_port,
    sshUser: row.ssh_user,
    sshKeySecret: row.ssh_key_secret,
    ramMb: row.ram_mb,
    diskMb: row.disk_mb,
    cpuCores: row.cpu_cores,
    availableRamMb: row.available_ram_mb,
    availableDiskMb: row.available_disk_mb,
    reservedRamMb: row.reserved_ram_mb,
    services: row.allocation_count,
    listeningPorts: listeningPortsOf(row),
    labels: jsonList<string>(row.labels),
    provider: row.provider,
    providerId: row.provider_id,
    providerStatus: row.provider_status,
    os: row.os,
    managed: row.managed === 1,
    status: row.status as ServerStatus,
    missingSince: row.missing_since,
    hostKeyFingerprint: row.host_key_fingerprint,
    offeredHostKeyFingerprint: row.offered_host_key_fingerprint,
    lastCheckAt: row.last_check_at,
    lastCheckError: row.last_check_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Something that can run read queries: the store or an open transaction. */
export type Reader = Pick<Transaction, 'all' | 'get'>;

/** Reads one server row. */
export function readServer(reader: Reader, handle: string): Promise<ServerRow | undefined> {
  return reader.get<ServerRow>('SELECT * FROM servers WHERE handle = ?', [handle]);
}

/** Inserts a server row with every column given (missing ones take their SQL defaults). */
export async function insertServer(tx: Transaction, handle: string, columns: ServerColumns, now: string): Promise<void> {
  const names = COLUMNS.filter((name) => columns[name] !== undefined);
  const values = names.map((name) => columns[name] as SqlValue);
  const placeholders = ['?', ...names.map(() => '?'), '?', '?'].join(', ');
  await tx.run(`INSERT INTO servers (handle, ${names.join(', ')}, created_at, updated_at) VALUES (${placeholders})`, [
    handle,
    ...values,
    now,
    now,
  ]);
}

/**
 * Writes the given columns of one row if any of them differs from `current`; returns whether it wrote. Keeping
 * unchanged rows out of the journal is what makes a no-op sync or re-evaluation cost nothing.
 */
export async function updateServer(tx: Transaction, current: ServerRow, columns: ServerColumns, now: string): Promise<boolean> {
  const changed = COLUMNS.filter((name) => columns[name] !== undefined && columns[name] !== current[name]);
  if (changed.length === 0) return false;
  const assignments = changed.map((name) => `${name} = ?`).join(', ');
  await tx.run(`UPDATE servers SET ${assignments}, updated_at = ? WHERE handle = ?`, [
    ...changed.map((name) => columns[name] as SqlValue),
    now,
    current.handle,
  ]);
  return true;
}
