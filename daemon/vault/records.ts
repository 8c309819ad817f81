import type { SecretCategory, SecretMetadata, SecretType } from '../protocol/secretFields.js';
import type { Database, DatabaseRow as Row, DatabaseTransaction as Transaction } from '../store/database.js';
import type { SqlValue } from '../store/journal.js';
import { newFolderId } from './generate.js';

/**
 * The vault's tables (migrations 2 and 8): secret metadata, kept versions and who holds them, keychain writes in
 * flight, and a few vault-wide keys. Only handles, names, times and keyed fingerprints go through here: the journal
 * records every param.
 */

/**
 * A secret's metadata row, typed: what clients see ({@link SecretMetadata}, declared once in the protocol) without
 * the previous version (a {@link KeptVersion}), plus what only the vault keeps.
 */
export interface SecretRecord extends Omit<SecretMetadata, 'previous'> {
  readonly generatedLength: number | null;
}

/** One version and one secret, as keys. */
export interface VersionKey {
  readonly handle: string;
  readonly version: number;
}

/** A version other than the current one that the backend still holds (under `versionAccountOf`). */
export interface KeptVersion extends VersionKey {
  readonly fingerprint: string;
  readonly hasPassphrase: boolean;
  /** The grace it got on leaving the current slot: until the next successful deploy or this time; null when over. */
  readonly keptUntil: string | null;
}

/**
 * What a pending row was written for. `drop-version` removes a kept version's accounts; `move-previous` moves the
 * old layout's `#previous` value to its numbered account (written by migration 8).
 */
export type PendingOperation = 'create' | 'replace' | 'delete' | 'drop-previous' | 'drop-version' | 'move-previous';

/** A keychain write in flight. `prepared`: not committed, roll back. `committed`: metadata says done, roll forward. */
export interface PendingRecord {
  readonly id: number;
  readonly handle: string;
  readonly operation: PendingOperation;
  readonly state: 'prepared' | 'committed';
  /** The version a `drop-version` or `move-previous` row is about. */
  readonly version: number | null;
}

const COLUMNS =
  'handle, name, type, category, project, tags, origin, generated_length, has_passphrase, fingerprint, created_at, updated_at, last_used_at, expires_at, rotation_days, version';
const VERSION_COLUMNS = 'handle, version, fingerprint, has_passphrase, kept_until';

function toRecord(row: Row): SecretRecord {
  const text = (key: string): string | null => (row[key] === null || row[key] === undefined ? null : String(row[key]));
  const number = (key: string): number | null => (row[key] === null || row[key] === undefined ? null : Number(row[key]));
  return {
    handle: String(row.handle),
    name: String(row.name),
    type: String(row.type) as SecretType,
    category: String(row.category) as SecretCategory,
    project: text('project'),
    tags: JSON.parse(String(row.tags)) as string[],
    origin: String(row.origin) === 'generated' ? 'generated' : 'user',
    generatedLength: number('generated_length'),
    hasPassphrase: Number(row.has_passphrase) === 1,
    fingerprint: String(row.fingerprint),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    lastUsedAt: text('last_used_at'),
    expiresAt: text('expires_at'),
    rotationDays: number('rotation_days'),
    version: Number(row.version),
  };
}

function toVersion(row: Row): KeptVersion {
  return {
    handle: String(row.handle),
    version: Number(row.version),
    fingerprint: String(row.fingerprint),
    hasPassphrase: Number(row.has_passphrase) === 1,
    keptUntil: row.kept_until === null || row.kept_until === undefined ? null : String(row.kept_until),
  };
}

function toParams(record: SecretRecord): SqlValue[] {
  return [
    record.handle,
    record.name,
    record.type,
    record.category,
    record.project,
    JSON.stringify(record.tags),
    record.origin,
    record.generatedLength,
    record.hasPassphrase ? 1 : 0,
    record.fingerprint,
    record.createdAt,
    record.updatedAt,
    record.lastUsedAt,
    record.expiresAt,
    record.rotationDays,
    record.version,
  ];
}

/**
 * The metadata a client sees. `previous` is the newest kept version still in its grace after a rotation (versions
 * kept only because a release holds them are not shown as previous).
 */
export function toMetadata(record: SecretRecord, kept: readonly KeptVersion[]): SecretMetadata {
  let previous: KeptVersion | undefined;
  for (const version of kept) {
    if (version.keptUntil !== null && (previous === undefined || version.version > previous.version)) previous = version;
  }
  return {
    handle: record.handle,
    name: record.name,
    type: record.type,
    category: record.category,
    project: record.project,
    tags: record.tags,
    origin: record.origin,
    hasPassphrase: record.hasPassphrase,
    fingerprint: record.fingerprint,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    lastUsedAt: record.lastUsedAt,
    expiresAt: record.expiresAt,
    rotationDays: record.rotationDays,
    version: record.version,
    previous: previous?.keptUntil ? { version: previous.version, fingerprint: previous.fingerprint, keptUntil: previous.keptUntil } : null,
  };
}

/** Reads and writes the vault's rows. */
export class SecretRecords {
  constructor(private readonly store: Database) {}

  /** One secret, or undefined. */
  async get(handle: string, reader: Pick<Transaction, 'get'> = this.store): Promise<SecretRecord | undefined> {
    const row = await reader.get(`SELECT ${COLUMNS} FROM secrets WHERE handle = ?`, [handle]);
    return row ? toRecord(row) : undefined;
  }

  /** The secret with this name in this scope (project, or none). */
  async byName(name: string, project: string | null, reader: Pick<Transaction, 'get'> = this.store): Promise<SecretRecord | undefined> {
    const row = await reader.get(`SELECT ${COLUMNS} FROM secrets WHERE name = ? AND COALESCE(project, '') = ?`, [name, project ?? '']);
    return row ? toRecord(row) : undefined;
  }

  /** Every secret, by name; with `project`, that project's and the unscoped ones. */
  async list(filter: { project?: string | undefined; category?: string | undefined; tag?: string | undefined } = {}): Promise<SecretRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.project !== undefined) {
      where.push('(project = ? OR project IS NULL)');
      params.push(filter.project);
    }
    if (filter.category !== undefined) {
      where.push('category = ?');
      params.push(filter.category);
    }
    const sql = `SELECT ${COLUMNS} FROM secrets${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY name, project`;
    const records = (await this.store.all(sql, params)).map(toRecord);
    return filter.tag === undefined ? records : records.filter((record) => record.tags.includes(filter.tag ?? ''));
  }

  /** Every secret's handle and current version, by handle. */
  async currentVersions(): Promise<{ handle: string; version: number }[]> {
    return (await this.store.all('SELECT handle, version FROM secrets ORDER BY handle')).map((row) => ({ handle: String(row.handle), version: Number(row.version) }));
  }

  /** True if the handle is taken by a secret or a write in flight. */
  async handleTaken(handle: string, reader: Pick<Transaction, 'get'> = this.store): Promise<boolean> {
    return (
      (await reader.get('SELECT 1 AS taken FROM secrets WHERE handle = ? UNION SELECT 1 FROM vault_pending WHERE handle = ?', [handle, handle])) !==
      undefined
    );
  }

  /** Inserts a new secret's metadata. */
  async insert(tx: Transaction, record: SecretRecord): Promise<void> {
    await tx.run(`INSERT INTO secrets (${COLUMNS}) VALUES (${COLUMNS.split(',').map(() => '?').join(', ')})`, toParams(record));
  }

  /** Replaces a secret's metadata row. */
  async update(tx: Transaction, record: SecretRecord): Promise<void> {
    await tx.run('DELETE FROM secrets WHERE handle = ?', [record.handle]);
    await this.insert(tx, record);
  }

  /** Removes a secret's metadata. */
  async remove(tx: Transaction, handle: string): Promise<void> {
    await tx.run('DELETE FROM secrets WHERE handle = ?', [handle]);
  }

  /** Records when a secret was last lent out. */
  async touch(tx: Transaction, handle: string, at: string): Promise<void> {
    await tx.run('UPDATE secrets SET last_used_at = ? WHERE handle = ?', [at, handle]);
  }

  /** Kept versions (other than the current) of one secret, or of all, oldest first. */
  async versions(handle?: string, reader: Pick<Transaction, 'all'> = this.store): Promise<KeptVersion[]> {
    const sql = `SELECT ${VERSION_COLUMNS} FROM secret_versions${handle === undefined ? '' : ' WHERE handle = ?'} ORDER BY handle, version`;
    return (await reader.all(sql, handle === undefined ? [] : [handle])).map(toVersion);
  }

  /** One kept version, or undefined. */
  async version(key: VersionKey, reader: Pick<Transaction, 'get'> = this.store): Promise<KeptVersion | undefined> {
    const row = await reader.get(`SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE handle = ? AND version = ?`, [key.handle, key.version]);
    return row ? toVersion(row) : undefined;
  }

  /** Records a version that left the current slot and whose value is kept. */
  async insertVersion(tx: Transaction, version: KeptVersion): Promise<void> {
    await tx.run(`INSERT OR REPLACE INTO secret_versions (${VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [
      version.handle,
      version.version,
      version.fingerprint,
      version.hasPassphrase ? 1 : 0,
      version.keptUntil,
    ]);
  }

  /** Ends a kept version's grace (holders may still keep it). */
  async endGrace(tx: Transaction, key: VersionKey): Promise<void> {
    await tx.run('UPDATE secret_versions SET kept_until = NULL WHERE handle = ? AND version = ?', [key.handle, key.version]);
  }

  /** Forgets a kept version's metadata (its accounts go through a pending row). */
  async removeVersion(tx: Transaction, key: VersionKey): Promise<void> {
    await tx.run('DELETE FROM secret_versions WHERE handle = ? AND version = ?', [key.handle, key.version]);
  }

  /** The versions `holder` keeps. */
  async heldBy(holder: string, reader: Pick<Transaction, 'all'> = this.store): Promise<VersionKey[]> {
    return (await reader.all('SELECT handle, version FROM secret_holds WHERE holder = ? ORDER BY handle, version', [holder])).map((row) => ({ handle: String(row.handle), version: Number(row.version) }));
  }

  /** True if any holder keeps this version. */
  async isHeld(key: VersionKey, reader: Pick<Transaction, 'get'> = this.store): Promise<boolean> {
    return (await reader.get('SELECT 1 AS held FROM secret_holds WHERE handle = ? AND version = ? LIMIT 1', [key.handle, key.version])) !== undefined;
  }

  /** Replaces what `holder` keeps. */
  async setHolds(tx: Transaction, holder: string, keys: readonly VersionKey[]): Promise<void> {
    await tx.run('DELETE FROM secret_holds WHERE holder = ?', [holder]);
    for (const key of keys) await tx.run('INSERT OR IGNORE INTO secret_holds (holder, handle, version) VALUES (?, ?, ?)', [holder, key.handle, key.version]);
  }

  /** Every holder's pins on a secret, and its kept versions' metadata (the secret is being deleted). */
  async removeAllVersions(tx: Transaction, handle: string): Promise<void> {
    await tx.run('DELETE FROM secret_holds WHERE handle = ?', [handle]);
    await tx.run('DELETE FROM secret_versions WHERE handle = ?', [handle]);
  }

  /** Writes a pending row and returns its id. */
  async addPending(tx: Transaction, handle: string, operation: PendingOperation, state: PendingRecord['state'], at: string, version: number | null = null): Promise<number> {
    await tx.run('INSERT INTO vault_pending (handle, operation, state, created_at, version) VALUES (?, ?, ?, ?, ?)', [handle, operation, state, at, version]);
    return Number((await tx.get<{ id: number }>('SELECT last_insert_rowid() AS id'))?.id);
  }

  /** Marks a pending row committed (its metadata change is in the same transaction). */
  async commitPending(tx: Transaction, id: number): Promise<void> {
    await tx.run("UPDATE vault_pending SET state = 'committed' WHERE id = ?", [id]);
  }

  /** Drops a pending row. */
  async removePending(tx: Transaction, id: number): Promise<void> {
    await tx.run('DELETE FROM vault_pending WHERE id = ?', [id]);
  }

  /** Every pending row, oldest first. */
  async pending(): Promise<PendingRecord[]> {
    return (await this.store.all('SELECT id, handle, operation, state, version FROM vault_pending ORDER BY id')).map((row) => ({
      id: Number(row.id),
      handle: String(row.handle),
      operation: String(row.operation) as PendingOperation,
      state: String(row.state) === 'committed' ? 'committed' : 'prepared',
      version: row.version === null || row.version === undefined ? null : Number(row.version),
    }));
  }

  /** A vault-wide key, e.g. the backend kind or the folder id. */
  async meta(key: string, reader: Pick<Transaction, 'get'> = this.store): Promise<string | undefined> {
    const row = await reader.get('SELECT value FROM vault_meta WHERE key = ?', [key]);
    return row ? String(row.value) : undefined;
  }

  /** Sets a vault-wide key. */
  async setMeta(tx: Transaction, key: string, value: string): Promise<void> {
    await tx.run('INSERT OR REPLACE INTO vault_meta (key, value) VALUES (?, ?)', [key, value]);
  }
}

/**
 * The data folder's id, which names this folder's keychain entries (two folders may share one login keychain): made
 * by whichever asks first, the vault's preparation or a team-vault request that comes before it.
 */
export function folderIdOf(store: Database): Promise<string> {
  // Read and written in one transaction: two first calls at once must agree on one folder id.
  return store.transaction(async (tx) => {
    const row = await tx.get("SELECT value FROM vault_meta WHERE key = 'folder_id'");
    if (row) return String(row.value);
    const id = newFolderId();
    await tx.run("INSERT INTO vault_meta (key, value) VALUES ('folder_id', ?)", [id]);
    return id;
  });
}
