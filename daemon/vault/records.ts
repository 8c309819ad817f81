import type { SecretCategory, SecretMetadata, SecretType } from '../protocol/secretFields.js';
import type { Row, SqlValue, Store, Transaction } from '../store/store.js';

/**
 * The vault's tables (migration 2): secret metadata, keychain writes in flight, and a few vault-wide keys.
 * Only handles, names, times and keyed fingerprints go through here: the journal records every param.
 */

/**
 * A secret's metadata row, typed: what clients see ({@link SecretMetadata}, declared once in the protocol) with the
 * previous version flattened into columns, plus what only the vault keeps.
 */
export interface SecretRecord extends Omit<SecretMetadata, 'previous'> {
  readonly generatedLength: number | null;
  readonly previousFingerprint: string | null;
  readonly previousHasPassphrase: boolean;
  readonly previousKeptUntil: string | null;
}

/** What a pending row was written for. */
export type PendingOperation = 'create' | 'replace' | 'delete' | 'drop-previous';

/** A keychain write in flight. `prepared`: not committed, roll back. `committed`: metadata says done, roll forward. */
export interface PendingRecord {
  readonly id: number;
  readonly handle: string;
  readonly operation: PendingOperation;
  readonly state: 'prepared' | 'committed';
}

const COLUMNS =
  'handle, name, type, category, project, tags, origin, generated_length, has_passphrase, fingerprint, created_at, updated_at, last_used_at, expires_at, rotation_days, previous_fingerprint, previous_has_passphrase, previous_kept_until';

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
    previousFingerprint: text('previous_fingerprint'),
    previousHasPassphrase: Number(row.previous_has_passphrase) === 1,
    previousKeptUntil: text('previous_kept_until'),
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
    record.previousFingerprint,
    record.previousHasPassphrase ? 1 : 0,
    record.previousKeptUntil,
  ];
}

/** The metadata a client sees. */
export function toMetadata(record: SecretRecord): SecretMetadata {
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
    previous:
      record.previousFingerprint !== null && record.previousKeptUntil !== null
        ? { fingerprint: record.previousFingerprint, keptUntil: record.previousKeptUntil }
        : null,
  };
}

/** Reads and writes the vault's rows. */
export class SecretRecords {
  constructor(private readonly store: Store) {}

  /** One secret, or undefined. */
  get(handle: string, reader: Pick<Transaction, 'get'> = this.store): SecretRecord | undefined {
    const row = reader.get(`SELECT ${COLUMNS} FROM secrets WHERE handle = ?`, [handle]);
    return row ? toRecord(row) : undefined;
  }

  /** The secret with this name in this scope (project, or none). */
  byName(name: string, project: string | null, reader: Pick<Transaction, 'get'> = this.store): SecretRecord | undefined {
    const row = reader.get(`SELECT ${COLUMNS} FROM secrets WHERE name = ? AND COALESCE(project, '') = ?`, [name, project ?? '']);
    return row ? toRecord(row) : undefined;
  }

  /** Every secret, by name; with `project`, that project's and the unscoped ones. */
  list(filter: { project?: string | undefined; category?: string | undefined; tag?: string | undefined } = {}): SecretRecord[] {
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
    const records = this.store.all(sql, params).map(toRecord);
    return filter.tag === undefined ? records : records.filter((record) => record.tags.includes(filter.tag ?? ''));
  }

  /** True if the handle is taken by a secret or a write in flight. */
  handleTaken(handle: string): boolean {
    return (
      this.store.get('SELECT 1 AS taken FROM secrets WHERE handle = ? UNION SELECT 1 FROM vault_pending WHERE handle = ?', [handle, handle]) !==
      undefined
    );
  }

  /** Inserts a new secret's metadata. */
  insert(tx: Transaction, record: SecretRecord): void {
    tx.run(`INSERT INTO secrets (${COLUMNS}) VALUES (${COLUMNS.split(',').map(() => '?').join(', ')})`, toParams(record));
  }

  /** Replaces a secret's metadata row. */
  update(tx: Transaction, record: SecretRecord): void {
    tx.run('DELETE FROM secrets WHERE handle = ?', [record.handle]);
    this.insert(tx, record);
  }

  /** Removes a secret's metadata. */
  remove(tx: Transaction, handle: string): void {
    tx.run('DELETE FROM secrets WHERE handle = ?', [handle]);
  }

  /** Records when a secret was last lent out. */
  touch(tx: Transaction, handle: string, at: string): void {
    tx.run('UPDATE secrets SET last_used_at = ? WHERE handle = ?', [at, handle]);
  }

  /** Writes a pending row and returns its id. */
  addPending(tx: Transaction, handle: string, operation: PendingOperation, state: PendingRecord['state'], at: string): number {
    tx.run('INSERT INTO vault_pending (handle, operation, state, created_at) VALUES (?, ?, ?, ?)', [handle, operation, state, at]);
    return Number(tx.get<{ id: number }>('SELECT last_insert_rowid() AS id')?.id);
  }

  /** Marks a pending row committed (its metadata change is in the same transaction). */
  commitPending(tx: Transaction, id: number): void {
    tx.run("UPDATE vault_pending SET state = 'committed' WHERE id = ?", [id]);
  }

  /** Drops a pending row. */
  removePending(tx: Transaction, id: number): void {
    tx.run('DELETE FROM vault_pending WHERE id = ?', [id]);
  }

  /** Every pending row, oldest first. */
  pending(): PendingRecord[] {
    return this.store.all('SELECT id, handle, operation, state FROM vault_pending ORDER BY id').map((row) => ({
      id: Number(row.id),
      handle: String(row.handle),
      operation: String(row.operation) as PendingOperation,
      state: String(row.state) === 'committed' ? 'committed' : 'prepared',
    }));
  }

  /** A vault-wide key, e.g. the backend kind or the folder id. */
  meta(key: string): string | undefined {
    const row = this.store.get('SELECT value FROM vault_meta WHERE key = ?', [key]);
    return row ? String(row.value) : undefined;
  }

  /** Sets a vault-wide key. */
  setMeta(tx: Transaction, key: string, value: string): void {
    tx.run('INSERT OR REPLACE INTO vault_meta (key, value) VALUES (?, ?)', [key, value]);
  }
}
