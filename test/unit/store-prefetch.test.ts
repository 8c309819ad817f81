import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { startReadingSnapshot, takePrefetchedSnapshot } from '../../daemon/store/snapshotPrefetch.js';
import { Store } from '../../daemon/store/store.js';

describe('store: the snapshot read while the daemon bundle loads', () => {
  let folder: string;
  let file: string;

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-prefetch-'));
    file = path.join(folder, 'zavhoz.db');
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('gives the bytes of the file still in place, once', async () => {
    fs.writeFileSync(file, 'snapshot one');
    startReadingSnapshot(file);
    assert.equal((await takePrefetchedSnapshot(file))?.toString(), 'snapshot one');
    assert.equal(await takePrefetchedSnapshot(file), undefined, 'taken once');
  });

  test('gives nothing once the file was replaced (a fold or a stopping daemon renamed another one in)', async () => {
    fs.writeFileSync(file, 'old snapshot');
    startReadingSnapshot(file);
    // The way the store replaces its snapshot: written beside, renamed over.
    fs.writeFileSync(`${file}.tmp`, 'new snapshot');
    fs.renameSync(`${file}.tmp`, file);
    assert.equal(await takePrefetchedSnapshot(file), undefined);
  });

  test('gives nothing once the file was written in place', async () => {
    fs.writeFileSync(file, 'snapshot A');
    startReadingSnapshot(file);
    // Same size, same inode: the change time tells.
    fs.writeFileSync(file, 'snapshot B');
    assert.equal(await takePrefetchedSnapshot(file), undefined);
  });

  test('gives nothing for another file, a missing or empty one, or when nothing was started', async () => {
    fs.writeFileSync(file, 'snapshot');
    startReadingSnapshot(file);
    assert.equal(await takePrefetchedSnapshot(path.join(folder, 'other.db')), undefined);
    startReadingSnapshot(path.join(folder, 'missing.db'));
    assert.equal(await takePrefetchedSnapshot(path.join(folder, 'missing.db')), undefined);
    fs.writeFileSync(path.join(folder, 'empty.db'), '');
    startReadingSnapshot(path.join(folder, 'empty.db'));
    assert.equal(await takePrefetchedSnapshot(path.join(folder, 'empty.db')), undefined);
    assert.equal(await takePrefetchedSnapshot(file), undefined);
  });

  test('a store opens from the bytes read ahead, and from the file itself when it changed meanwhile', async () => {
    const files = { database: file, journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS };
    const first = await Store.open(files);
    first.transaction((tx) => tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'one', 't')"));
    first.close();

    startReadingSnapshot(file);
    const second = await Store.open(files);
    assert.deepEqual(second.all("SELECT value FROM settings WHERE key = 'k'"), [{ value: 'one' }]);
    second.transaction((tx) => tx.run("UPDATE settings SET value = 'two' WHERE key = 'k'"));
    // The bytes read ahead are of the snapshot before this one: the store must not use them.
    startReadingSnapshot(file);
    second.close();
    const third = await Store.open(files);
    assert.deepEqual(third.all("SELECT value FROM settings WHERE key = 'k'"), [{ value: 'two' }]);
    third.close();
  });
});
