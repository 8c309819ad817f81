import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Database } from 'sql.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { loadSqlJs, snapshotChecksumOf } from '../../daemon/store/snapshotFile.js';
import { Store } from '../../daemon/store/store.js';

const ITEMS: Migration = { version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)'] };
const PAGE = 4096;

describe('store: the checksum recorded beside each snapshot', () => {
  let folder: string;
  let files: { database: string; journal: string };
  const open = (snapshotAfterBytes?: number): Promise<Store> => Store.open({ ...files, migrations: [ITEMS], ...(snapshotAfterBytes ? { snapshotAfterBytes } : {}) });
  const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const fill = (store: Store, count: number): void => {
    store.transaction((tx) => {
      for (let index = 0; index < count; index++) tx.run('INSERT INTO items (name) VALUES (?)', [`item-${index}`.padEnd(200, 'x')]);
    });
  };
  /** Overwrites one page in the middle of the file: the header stays sound, so only an integrity check finds it. */
  const damageAPage = (): void => {
    const bytes = fs.readFileSync(files.database);
    bytes.fill(0x5a, 2 * PAGE, 3 * PAGE);
    fs.writeFileSync(files.database, bytes);
  };

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-store-checksum-'));
    files = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('is written with every snapshot, here and by the background fold', async () => {
    const store = await open(4_000);
    fill(store, 100);
    store.snapshot();
    assert.equal(fs.readFileSync(snapshotChecksumOf(files.database), 'utf8'), sha256(files.database));
    let folds = 0;
    for (let index = 0; index < 100; index++) {
      store.transaction((tx) => tx.run('UPDATE items SET name = ? WHERE id = ?', [`changed-${index}`, index + 1]));
      await new Promise((resolve) => setImmediate(resolve));
      if (fs.existsSync(`${files.journal}.folding`)) folds++;
    }
    assert.ok(folds > 0, 'a fold ran');
    // A fold that ends may start the next if the journal grew past the limit meanwhile.
    for (let round = 0; round < 100; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      await store.foldSettled();
      if (!fs.existsSync(`${files.journal}.folding`)) break;
    }
    assert.equal(fs.readFileSync(snapshotChecksumOf(files.database), 'utf8'), sha256(files.database), 'the fold recorded its snapshot');
    store.close();
    assert.equal(fs.readFileSync(snapshotChecksumOf(files.database), 'utf8'), sha256(files.database));
  });

  test('a snapshot whose bytes differ from the recorded ones is checked, and refused when damaged', async () => {
    const store = await open();
    fill(store, 200);
    store.close();
    damageAPage();
    await assert.rejects(open(), (error: ZavhozError) => error.code === ErrorCodes.StoreUnavailable);
    // Without a recorded checksum (a folder from before, or one lost in a crash): checked the same way.
    fs.rmSync(snapshotChecksumOf(files.database));
    await assert.rejects(open(), (error: ZavhozError) => error.code === ErrorCodes.StoreUnavailable);
  });

  test('a snapshot byte for byte as recorded is not checked again; any other is', async () => {
    const SQL = await loadSqlJs();
    const statements: string[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the wrapper below calls it with its own `this`
    const exec = SQL.Database.prototype.exec;
    SQL.Database.prototype.exec = function (this: Database, sql: string, ...rest: unknown[]) {
      statements.push(sql);
      return exec.call(this, sql, ...(rest as []));
    };
    try {
      const store = await open();
      fill(store, 200);
      store.close();
      const checks = (): number => statements.filter((sql) => sql.includes('quick_check')).length;
      const before = checks();
      (await open()).close();
      assert.equal(checks(), before, 'the recorded snapshot was not checked');
      fs.rmSync(snapshotChecksumOf(files.database));
      (await open()).close();
      assert.equal(checks(), before + 1, 'without the checksum it was');
    } finally {
      SQL.Database.prototype.exec = exec;
    }
  });
});
