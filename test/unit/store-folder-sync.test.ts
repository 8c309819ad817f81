/**
 * The store makes its folder's entries durable (a new journal's name, a new folder's snapshot) before the first write
 * is acknowledged, without holding up its start for it (Journal.syncFolderSoon): the folder is synced on the thread
 * pool, and an append (or close) that comes first syncs it itself. Observed through the synchronous fsync calls made
 * on this thread, by file kind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Journal } from '../../daemon/store/journal.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { Store } from '../../daemon/store/store.js';

const ITEMS: Migration = { version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)'] };

/** Records every synchronous fsync/fdatasync on this thread as `fsync folder`, `fdatasync file`…, in order. */
function recordSyncs(): { calls: string[]; folderSyncs: () => number; restore: () => void } {
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
  return { calls, folderSyncs: () => calls.filter((call) => call === 'fsync folder').length, restore: () => Object.assign(fs, originals) };
}

const RECORD = { seq: 1, operations: [['INSERT INTO items (name) VALUES (?)', ['one']]] as [string, string[]][] };

describe('store: the folder sync of a journal', () => {
  let folder: string;
  let files: { database: string; journal: string };
  let syncs: ReturnType<typeof recordSyncs>;

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-folder-sync-'));
    files = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
    syncs = recordSyncs();
  });

  afterEach(() => {
    syncs.restore();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('an append made before the background sync has ended syncs the folder itself, before its record', () => {
    const { journal } = Journal.open(files.journal);
    void journal.syncFolderSoon();
    // No turn of the event loop in between: the thread pool's sync cannot have been seen as done.
    journal.append(RECORD);
    assert.deepEqual(syncs.calls.filter((call) => call !== 'fsync file'), ['fsync folder', 'fdatasync file'], 'folder first, then the record');
    journal.append({ ...RECORD, seq: 2 });
    assert.equal(syncs.folderSyncs(), 1, 'later appends do not sync the folder again');
    journal.close();
  });

  test('an append after the background sync syncs no folder on this thread', async () => {
    const { journal } = Journal.open(files.journal);
    await journal.syncFolderSoon();
    journal.append(RECORD);
    assert.equal(syncs.folderSyncs(), 0);
    journal.close();
  });

  test('a journal closed before its background sync has ended syncs the folder as it closes', () => {
    const { journal } = Journal.open(files.journal);
    void journal.syncFolderSoon();
    journal.close();
    assert.equal(syncs.folderSyncs(), 1);
  });

  test('a background sync that fails refuses every append after it, rather than retrying', async () => {
    const { journal } = Journal.open(files.journal);
    // The disk reports a write-back error to this fsync (Linux reports it once: a retried sync could succeed).
    const fsync = fs.fsync;
    fs.fsync = ((_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      callback(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    }) as typeof fs.fsync;
    try {
      await journal.syncFolderSoon();
    } finally {
      fs.fsync = fsync;
    }
    assert.throws(() => journal.append(RECORD), /the data folder could not be synced to disk \(EIO.*restart the daemon/);
    assert.equal(fs.statSync(files.journal).size, 0, 'nothing was written');
    journal.close();
  });

  test('a background sync that could not start leaves the sync to the next append', async () => {
    const { journal } = Journal.open(files.journal);
    // The folder is gone when the thread pool opens it, and back by the time of the append.
    const renamed = `${folder}-gone`;
    fs.renameSync(folder, renamed);
    try {
      await journal.syncFolderSoon();
    } finally {
      fs.renameSync(renamed, folder);
    }
    journal.append(RECORD);
    assert.deepEqual(syncs.calls.filter((call) => call !== 'fsync file'), ['fsync folder', 'fdatasync file']);
    journal.close();
  });

  test('opening a store syncs no folder on its own thread; the store that reopens it reads what was written', async () => {
    const store = await Store.open({ ...files, migrations: [] });
    assert.equal(syncs.folderSyncs(), 0, 'the start did not wait for a folder sync');
    store.close();
    const migrated = await Store.open({ ...files, migrations: [ITEMS] });
    migrated.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', ['kept']));
    migrated.close();
    const reopened = await Store.open({ ...files, migrations: [ITEMS] });
    assert.deepEqual(reopened.all('SELECT name FROM items'), [{ name: 'kept' }]);
    reopened.close();
  });
});
