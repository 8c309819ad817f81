import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Database } from 'sql.js';
import { EMPTY_DATABASE_ASSET, migratedEmptyDatabase } from '../../daemon/store/emptyDatabase.js';
import { readJournal } from '../../daemon/store/journal.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { loadSqlJs } from '../../daemon/store/snapshotFile.js';
import { Store } from '../../daemon/store/store.js';

const BUILT_ASSET = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist', EMPTY_DATABASE_ASSET);

/** Everything a database holds that a start can see: its schema, its version and every table's rows. */
function contents(db: Database): unknown {
  const schema = db.exec("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")[0]?.values ?? [];
  const tables = schema.filter((row) => row[0] === 'table').map((row) => String(row[1]));
  const rows = Object.fromEntries(tables.map((table) => [table, db.exec(`SELECT * FROM "${table}" ORDER BY 1`)[0]?.values ?? []]));
  return { schema, userVersion: db.exec('PRAGMA user_version')[0]?.values, rows };
}

/** The contents of a store opened by running every migration (no asset), as saved by its close. */
async function migratedByTheStore(folder: string, migrations: readonly Migration[]): Promise<Uint8Array> {
  const files = { database: path.join(folder, 'migrated.db'), journal: path.join(folder, 'migrated.journal') };
  const store = await Store.open({ ...files, migrations });
  store.close();
  return fs.readFileSync(files.database);
}

describe('store: the prebuilt database a new data folder starts from', () => {
  let folder: string;
  let files: { database: string; journal: string };

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-empty-db-'));
    files = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('holds exactly what running the migrations produces', async () => {
    const SQL = await loadSqlJs();
    const prebuilt = new SQL.Database(migratedEmptyDatabase(SQL, MIGRATIONS));
    const migrated = new SQL.Database(await migratedByTheStore(folder, MIGRATIONS));
    // The one difference is where each stands in its journal: the migrations were the store's record 1.
    migrated.run("UPDATE zavhoz_meta SET value = '0' WHERE key = 'journal_seq'");
    assert.deepEqual(contents(prebuilt), contents(migrated));
    assert.equal(prebuilt.exec("SELECT value FROM zavhoz_meta WHERE key = 'journal_seq'")[0]?.values[0]?.[0], '0');
    prebuilt.close();
    migrated.close();
  });

  test('the build ships it as dist/empty-store.db, as generated from the current migrations', { skip: !fs.existsSync(BUILT_ASSET) && 'not built' }, async () => {
    const SQL = await loadSqlJs();
    assert.deepEqual(new Uint8Array(fs.readFileSync(BUILT_ASSET)), migratedEmptyDatabase(SQL, MIGRATIONS));
  });

  test('a new folder starts from it: no migration record in the journal, and writes survive a restart', async () => {
    const SQL = await loadSqlJs();
    const asset = path.join(folder, EMPTY_DATABASE_ASSET);
    fs.writeFileSync(asset, migratedEmptyDatabase(SQL, MIGRATIONS));
    const store = await Store.open({ ...files, migrations: MIGRATIONS, emptyDatabase: asset });
    assert.deepEqual(new Uint8Array(fs.readFileSync(files.database)), new Uint8Array(fs.readFileSync(asset)));
    assert.equal(readJournal(files.journal).records.length, 0);
    assert.equal(fs.statSync(files.database).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(folder).sort(), [EMPTY_DATABASE_ASSET, 'zavhoz.db', 'zavhoz.db.checksum', 'zavhoz.journal']);
    store.transaction((tx) => tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 't')"));
    // No close: the process "dies", and the next start replays the write onto the installed snapshot.
    const reopened = await Store.open({ ...files, migrations: MIGRATIONS, emptyDatabase: asset });
    assert.deepEqual(reopened.all('SELECT key, value FROM settings'), [{ key: 'k', value: 'v' }]);
    assert.equal(reopened.get<{ user_version: number }>('PRAGMA user_version')?.user_version, MIGRATIONS.length);
    reopened.close();
    store.close();
  });

  test('is ignored when it is at another version, missing, or the folder is not new', async () => {
    const SQL = await loadSqlJs();
    const items: Migration[] = [{ version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY)'] }];
    const stale = path.join(folder, 'stale.db');
    fs.writeFileSync(stale, migratedEmptyDatabase(SQL, MIGRATIONS));
    const fromStale = await Store.open({ ...files, migrations: items, emptyDatabase: stale });
    assert.deepEqual(fromStale.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'settings'"), []);
    assert.equal(readJournal(files.journal).records.length, 1, 'the migration ran and was journaled');
    fromStale.close();

    fs.rmSync(files.database);
    fs.rmSync(files.journal);
    const fromMissing = await Store.open({ ...files, migrations: items, emptyDatabase: path.join(folder, 'missing.db') });
    fromMissing.transaction((tx) => tx.run('INSERT INTO items (id) VALUES (1)'));
    fromMissing.close();

    // An existing folder keeps its data even if the asset would fit.
    const current = path.join(folder, 'current.db');
    fs.writeFileSync(current, migratedEmptyDatabase(SQL, items));
    const existing = await Store.open({ ...files, migrations: items, emptyDatabase: current });
    assert.deepEqual(existing.all('SELECT id FROM items'), [{ id: 1 }]);
    existing.close();
  });
});
