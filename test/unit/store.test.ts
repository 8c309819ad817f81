import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { Store } from '../../daemon/store/store.js';

const ITEMS: Migration = { version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)'] };
const NOTES: Migration = { version: 2, description: 'notes', statements: ['CREATE TABLE notes (body TEXT NOT NULL)'] };

describe('store: sql.js made durable by a journal', () => {
  let folder: string;
  let files: { database: string; journal: string };
  const open = (migrations: Migration[] = [ITEMS]): Promise<Store> => Store.open({ ...files, migrations });
  const names = (store: Store): string[] => store.all<{ name: string }>('SELECT name FROM items ORDER BY id').map((row) => row.name);

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-store-'));
    files = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('committed writes are replayed from the journal after a crash (no close)', async () => {
    const store = await open();
    for (const name of ['a', 'b', 'c']) store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', [name]));
    // No close(): the process "dies" here. A second open reads the same files.
    const reopened = await open();
    assert.deepEqual(names(reopened), ['a', 'b', 'c']);
    reopened.close();
  });

  test('a transaction that throws leaves nothing behind, in memory or on disk', async () => {
    const store = await open();
    store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['kept']));
    assert.throws(() =>
      store.transaction((tx) => {
        tx.run('INSERT INTO items (name) VALUES (?)', ['lost']);
        tx.run('INSERT INTO items (name) VALUES (?)', ['kept']); // UNIQUE violation
      }),
    );
    assert.deepEqual(names(store), ['kept']);
    const reopened = await open();
    assert.deepEqual(names(reopened), ['kept']);
    reopened.close();
  });

  test('a torn last record (crash mid-append, never acknowledged) is cut off', async () => {
    const store = await open();
    store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['acknowledged']));
    // The journal is zero-padded ahead of its records: the torn bytes land where the next record would go.
    const end = fs.readFileSync(files.journal).indexOf(0);
    const fd = fs.openSync(files.journal, 'r+');
    fs.writeSync(fd, '0123456789abcdef {"seq":99,"ops":[["INSERT INTO items (na', end);
    fs.closeSync(fd);
    const reopened = await open();
    assert.deepEqual(names(reopened), ['acknowledged']);
    reopened.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['after']));
    const again = await open();
    assert.deepEqual(names(again), ['acknowledged', 'after']);
    again.close();
  });

  test('a damaged record in the middle refuses to start and names the files', async () => {
    const store = await open();
    store.snapshot();
    for (const name of ['a', 'b', 'c']) store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', [name]));
    const lines = fs.readFileSync(files.journal, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"b"', '"x"');
    fs.writeFileSync(files.journal, lines.join('\n'));
    await assert.rejects(open(), (error: ZavhozError) => {
      assert.equal(error.code, ErrorCodes.StoreUnavailable);
      assert.match(error.message, /zavhoz\.journal/);
      assert.match(error.message, /will not start over/);
      return true;
    });
  });

  test('a damaged database file is refused, never replaced by an empty one', async () => {
    const store = await open();
    store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['precious']));
    store.snapshot();
    store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['more']));
    store.close();
    const bytes = fs.readFileSync(files.database);
    bytes.fill(0x41, 0, 64); // wreck the header
    fs.writeFileSync(files.database, bytes);
    await assert.rejects(open(), (error: ZavhozError) => {
      assert.equal(error.code, ErrorCodes.StoreUnavailable);
      assert.match(error.message, /zavhoz\.db\.prev/);
      return true;
    });
    assert.deepEqual(fs.readFileSync(files.database), bytes, 'the damaged file is left for the user to inspect');
    // The named fallback really holds the data.
    fs.copyFileSync(`${files.database}.prev`, files.database);
    fs.writeFileSync(files.journal, '');
    const recovered = await open();
    assert.deepEqual(names(recovered), ['precious']);
    recovered.close();
  });

  test('an older schema is upgraded by migrations; a newer one is refused untouched', async () => {
    const old = await open([ITEMS]);
    old.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['from v1']));
    old.close();
    const upgraded = await open([ITEMS, NOTES]);
    upgraded.transaction((tx) => tx.run('INSERT INTO notes (body) VALUES (?)', ['v2 works']));
    assert.deepEqual(names(upgraded), ['from v1']);
    upgraded.close();
    const before = fs.readFileSync(files.database);
    await assert.rejects(open([ITEMS]), (error: ZavhozError) => {
      assert.match(error.message, /newer Zavhoz \(schema 2; this version knows up to 1\)/);
      return true;
    });
    assert.deepEqual(fs.readFileSync(files.database), before);
  });

  test('records already folded into a snapshot are not applied twice', async () => {
    const store = await open([{ version: 1, description: 'log', statements: ['CREATE TABLE log (line TEXT)'] }]);
    store.transaction((tx) => tx.run('INSERT INTO log (line) VALUES (?)', ['once']));
    const journalBeforeSnapshot = fs.readFileSync(files.journal);
    store.snapshot();
    // Crash after the snapshot's rename but before the journal was emptied: the old records are still there.
    fs.writeFileSync(files.journal, journalBeforeSnapshot);
    const reopened = await open([{ version: 1, description: 'log', statements: ['CREATE TABLE log (line TEXT)'] }]);
    assert.deepEqual(reopened.all('SELECT line FROM log'), [{ line: 'once' }]);
    reopened.close();
  });

  test('files are private to the user and values of every kind survive replay', async () => {
    const store = await open([{ version: 1, description: 'kinds', statements: ['CREATE TABLE kinds (t TEXT, n REAL, b BLOB, z TEXT)'] }]);
    store.transaction((tx) => tx.run('INSERT INTO kinds VALUES (?, ?, ?, ?)', ['multi\nline "quoted"', 1.5, new Uint8Array([0, 255, 7]), null]));
    const reopened = await open([{ version: 1, description: 'kinds', statements: ['CREATE TABLE kinds (t TEXT, n REAL, b BLOB, z TEXT)'] }]);
    const row = reopened.get('SELECT * FROM kinds');
    assert.equal(row?.t, 'multi\nline "quoted"');
    assert.equal(row.n, 1.5);
    assert.deepEqual([...(row.b as Uint8Array)], [0, 255, 7]);
    assert.equal(row.z, null);
    reopened.close();
    for (const file of [files.database, files.journal]) assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
  });
});
