import type pg from 'pg';
import { ZavhozError } from '../../core/errors.js';
import { ErrorCodes } from '../../protocol/errors.js';
import type { Migration } from '../migrations.js';
import type { DatabaseAddress } from './errors.js';
import { type TranslatedStatement, VERSION_TABLE } from './translate.js';

/**
 * The advisory lock migrations run under ("zavhoz" in ASCII): daemons of one team that start at once take turns,
 * so the first migrates and the others find the schema current.
 */
const MIGRATION_LOCK = 134_608_474_435_450;

/**
 * Brings the team database's schema up to the newest migration: the same list the embedded store applies,
 * translated, all pending ones in one transaction under {@link MIGRATION_LOCK} (PostgreSQL's DDL is transactional,
 * so the schema is never left between versions). A schema made by a newer Zavhoz is refused, untouched.
 */
export async function applyPostgresMigrations(
  client: pg.ClientBase,
  migrations: readonly Migration[],
  translate: (sql: string) => TranslatedStatement,
  address: DatabaseAddress,
): Promise<void> {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${migration.version} is out of order`);
  });
  const latest = migrations.length;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`);
    await client.query(`INSERT INTO ${VERSION_TABLE} (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING`);
    const read = await client.query<{ user_version: number }>(translate('PRAGMA user_version').text);
    const current = read.rows[0]?.user_version ?? 0;
    if (current > latest) {
      throw new ZavhozError(
        ErrorCodes.StoreUnavailable,
        `The team database at ${address.host}:${address.port} was set up by a newer Zavhoz (schema ${current}; this version knows up to ${latest}). Update Zavhoz; the database was left untouched.`,
      );
    }
    for (const migration of migrations.slice(current)) {
      for (const statement of migration.statements) await client.query(translate(statement).text);
    }
    if (current < latest) await client.query(translate(`PRAGMA user_version = ${latest}`).text);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
