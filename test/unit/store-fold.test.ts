import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { BackgroundFold } from '../../daemon/store/fold.js';
import { Journal } from '../../daemon/store/journal.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { Store } from '../../daemon/store/store.js';

const ITEMS: Migration = { version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)'] };

describe('store: the journal is folded in the background', () => {
  let folder: string;
  let files: { database: string; journal: string };
  const open = (snapshotAfterBytes = 2_000): Promise<Store> => Store.open({ ...files, migrations: [ITEMS], snapshotAfterBytes });
  const names = (store: Store): string[] => store.all<{ name: string }>('SELECT name FROM items ORDER BY id').map((row) => row.name);
  const insert = (store: Store, name: string): void => {
    store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', [name]));
  };
  const waitForFold = async (store: Store): Promise<void> => {
    // A fold starts on the next turn of the event loop after the write that crossed the limit, and one that ends
    // may start the next if the journal grew past the limit meanwhile.
    for (let round = 0; round < 100; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      await store.foldSettled();
      if (!fs.existsSync(`${files.journal}.folding`)) return;
    }
    assert.fail('the fold never finished');
  };

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-store-fold-'));
    files = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('writes go on while a fold runs, and every acknowledged one survives a crash after it', async () => {
    const store = await open();
    const written: string[] = [];
    let folds = 0;
    for (let index = 0; index < 60; index++) {
      insert(store, `item-${index}`);
      written.push(`item-${index}`);
      await new Promise((resolve) => setImmediate(resolve)); // lets a fold start
      if (fs.existsSync(`${files.journal}.folding`)) folds++;
    }
    await waitForFold(store);
    assert.ok(folds > 0, 'writes were made while a fold ran');
    assert.ok(!fs.existsSync(`${files.journal}.folding`), 'the renamed journal is gone once its snapshot is in place');
    assert.ok(fs.statSync(files.database).size > 0, 'a snapshot was written');
    // No close(): the process "dies" here.
    const reopened = await open();
    assert.deepEqual(names(reopened), written);
    reopened.close();
  });

  test('a crash before the new snapshot is in place loses nothing: both journals are replayed', async () => {
    const store = await open(Number.MAX_SAFE_INTEGER);
    for (let index = 0; index < 10; index++) insert(store, `before-${index}`);
    // The state a fold leaves while its worker runs: the journal renamed aside, a new one started.
    fs.renameSync(files.journal, `${files.journal}.folding`);
    const second = await open(Number.MAX_SAFE_INTEGER);
    insert(second, 'after');
    const reopened = await open(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(names(reopened), [...Array.from({ length: 10 }, (_, index) => `before-${index}`), 'after']);
    assert.ok(!fs.existsSync(`${files.journal}.folding`), 'a start folds what an interrupted fold left');
    reopened.close();
  });

  test('a crash after the new snapshot is in place but before the renamed journal went applies nothing twice', async () => {
    const store = await open();
    for (let index = 0; index < 30; index++) insert(store, `item-${index}`);
    const journalBefore = fs.readFileSync(files.journal);
    await waitForFold(store);
    // Put back a renamed journal whose records the snapshot already holds (UNIQUE names: a second insert would fail).
    fs.writeFileSync(`${files.journal}.folding`, journalBefore);
    const reopened = await open();
    assert.deepEqual(names(reopened), Array.from({ length: 30 }, (_, index) => `item-${index}`));
    reopened.close();
  });

  test('the worker builds the snapshot, running from source too (not the fallback fold on this thread)', async () => {
    const store = await open(Number.MAX_SAFE_INTEGER);
    for (let index = 0; index < 5; index++) insert(store, `item-${index}`);
    const outcomes: boolean[] = [];
    const fold = new BackgroundFold(files);
    const fresh = fold.start(Journal.open(files.journal).journal, store.sequence, (installed) => outcomes.push(installed));
    await fold.settled();
    fresh.close();
    assert.deepEqual(outcomes, [true], 'the worker answered and its snapshot was renamed into place');
    assert.equal(fs.existsSync(`${files.journal}.folding`), false);
    store.close();
  });

  test('close during a fold writes the full snapshot; the fold in flight is dropped', async () => {
    const store = await open();
    for (let index = 0; index < 30; index++) insert(store, `item-${index}`);
    await new Promise((resolve) => setImmediate(resolve));
    insert(store, 'last');
    store.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const leftovers = fs.readdirSync(folder).filter((name) => name.endsWith('.fold') || name.endsWith('.folding'));
    assert.deepEqual(leftovers, []);
    assert.equal(fs.statSync(files.journal).size, 0);
    // A fold cut short by the process ending leaves its output; the next start removes it.
    fs.writeFileSync(`${files.database}.4242.1.fold`, 'half a snapshot');
    const reopened = await open();
    assert.deepEqual(names(reopened), [...Array.from({ length: 30 }, (_, index) => `item-${index}`), 'last']);
    assert.equal(fs.existsSync(`${files.database}.4242.1.fold`), false);
    reopened.close();
  });
});
