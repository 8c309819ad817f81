/**
 * A store that creates its journal makes the folder's new names durable before the first write is acknowledged, but
 * does not hold up its start for it (Journal.syncFolderSoon): the folder is synced on the thread pool, and a write
 * that comes first syncs it itself. Observed through the fsync calls the store makes, by file kind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Migration } from '../../daemon/store/migrations.js';
import { Store } from '../../daemon/store/store.js';

const ITEMS: Migration = { version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)'] };

/** Records every synchronous fsync/fdatasync as `folder` or `file`, in order, until `restore` is called. */
function recordSyncs(): { calls: string[]; restore: () => void } {
  const calls: string[] = [];
  const originals = { fsyncSync: fs.fsyncSync, fdatasyncSync: fs.fdatasyncSync };
  const kind = (fd: number): string => (fs.fstatSync(fd).isDirectory() ? 'folder' : 'file');
  fs.fsyncSync = (fd: number): void => {
    calls.push(`fsync ${kind(fd)}`);
    originals.fsyncSync(fd);
  };
  fs.fdatasyncSync = (fd: number): void => {
    calls.push(`fdatasync ${kind(fd)}`);
    originals.fdatasyncSync(fd);
  };
  return { calls, restore: () => Object.assign(fs, originals) };
}

describe('store: the folder sync of a new journal', () => {
  let folder: string;
  let files: { database: string; journal: string };

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-folder-sync-'));
    files = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
  });

  afterEach(() => {
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('opening a new store syncs no folder on its own thread; a write made at once syncs it before its record', async () => {
    const syncs = recordSyncs();
    let store: Store;
    try {
      store = await Store.open({ ...files, migrations: [ITEMS] });
      // Opening ran the migration (a journal write); with no event-loop turn in between, the background sync has not
      // finished, so that write synced the folder itself, before its record's fdatasync.
      const firstFolder = syncs.calls.indexOf('fsync folder');
      const firstRecord = syncs.calls.indexOf('fdatasync file');
      assert.ok(firstFolder >= 0, `the folder was synced before a write was acknowledged (${syncs.calls.join(', ')})`);
      assert.ok(firstFolder < firstRecord, `the folder sync came before the record's (${syncs.calls.join(', ')})`);
      store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['second']));
      assert.equal(syncs.calls.filter((call) => call === 'fsync folder').length, 1, 'later writes do not sync the folder again');
    } finally {
      syncs.restore();
    }
    store.close();
  });

  test('a store whose first write comes later finds the folder synced in the background', async () => {
    // Created (and migrated) once, then opened again without its journal, as a journal lost or never made.
    const first = await Store.open({ ...files, migrations: [ITEMS] });
    first.close();
    fs.rmSync(files.journal);
    const syncs = recordSyncs();
    try {
      const store = await Store.open({ ...files, migrations: [ITEMS] });
      assert.deepEqual(syncs.calls.filter((call) => call.endsWith('folder')), [], 'the start did not wait for a folder sync');
      // The thread pool's sync finishes within a few turns of the event loop.
      for (let turn = 0; turn < 200 && (store as unknown as { journal: { folderPending: boolean } }).journal.folderPending; turn++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      store.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['later']));
      assert.deepEqual(syncs.calls.filter((call) => call.endsWith('folder')), [], 'the write found the folder synced already');
      store.close();
    } finally {
      syncs.restore();
    }
    const reopened = await Store.open({ ...files, migrations: [ITEMS] });
    assert.deepEqual(reopened.all('SELECT name FROM items'), [{ name: 'later' }]);
    reopened.close();
  });
});
