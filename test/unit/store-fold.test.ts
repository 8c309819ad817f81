import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BackgroundFold } from '../../daemon/store/fold.js';
import { abandonFold, type FoldJob, installSteps, newFoldState, runFoldJob } from '../../daemon/store/foldJob.js';
import { Journal, JOURNAL_GROWTH_BYTES } from '../../daemon/store/journal.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { foldOutputOf, writeFoldedSnapshot } from '../../daemon/store/snapshotFile.js';
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

  const leftovers = (): string[] => fs.readdirSync(path.dirname(files.database)).filter((name) => /\.(fold|folding|next|tmp)$/.test(name));
  /** A store whose snapshot holds `before-*` and whose journal, renamed aside as a fold's start leaves it, holds `folded-*`. */
  const foldStarted = async (): Promise<FoldJob> => {
    const store = await open(Number.MAX_SAFE_INTEGER);
    for (let index = 0; index < 10; index++) insert(store, `before-${index}`);
    store.snapshot();
    for (let index = 0; index < 10; index++) insert(store, `folded-${index}`);
    const seq = store.sequence;
    // No close (it would write a snapshot of its own): the process is about to "die" or to be left alone.
    const folding = `${files.journal}.folding`;
    fs.renameSync(files.journal, folding);
    Journal.open(files.journal).journal.close();
    return { database: files.database, journals: [folding], output: foldOutputOf(files.database, 'test'), journal: files.journal, folding, seq, state: newFoldState() };
  };
  const expected = [...Array.from({ length: 10 }, (_, index) => `before-${index}`), ...Array.from({ length: 10 }, (_, index) => `folded-${index}`)];

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

  test('a crash between any two steps of putting the snapshot in place loses nothing and applies nothing twice', async () => {
    const root = folder;
    const stepCount = installSteps(await foldStartedIn(path.join(root, 'count')), '').length;
    for (let crashAfter = 0; crashAfter <= stepCount; crashAfter++) {
      const job = await foldStartedIn(path.join(root, `crash-${crashAfter}`));
      const { checksum } = await writeFoldedSnapshot(job);
      for (const step of installSteps(job, checksum).slice(0, crashAfter)) step();
      // And a journal the worker was preparing for the next fold, half written.
      fs.writeFileSync(`${files.journal}.next.tmp`, Buffer.alloc(100));
      const reopened = await open();
      assert.deepEqual(names(reopened), expected, `a crash after ${crashAfter} of ${stepCount} steps`);
      assert.deepEqual(leftovers(), [], 'a start removes what the fold left');
      reopened.close();
    }

    async function foldStartedIn(subfolder: string): Promise<FoldJob> {
      fs.mkdirSync(subfolder);
      files = { database: path.join(subfolder, 'zavhoz.db'), journal: path.join(subfolder, 'zavhoz.journal') };
      return foldStarted();
    }
  });

  test('a fold abandoned (the daemon writes a full snapshot) before its snapshot is in place puts nothing in place', async () => {
    const job = await foldStarted();
    const snapshotBefore = fs.readFileSync(files.database);
    abandonFold(job.state);
    const answer = await runFoldJob(job);
    assert.equal(answer.ok, false);
    assert.deepEqual(fs.readFileSync(files.database), snapshotBefore, 'the snapshot is the one that was there');
    assert.ok(fs.existsSync(job.folding), 'the renamed journal stays: no snapshot of the fold holds its records');
    assert.equal(fs.existsSync(job.output), false, 'the worker removed its output');
    const reopened = await open();
    assert.deepEqual(names(reopened), expected);
    reopened.close();
  });

  test('abandoning a fold whose worker is putting its snapshot in place waits until that is done', async () => {
    const state = newFoldState();
    const marker = path.join(folder, 'installed');
    // A worker in the middle of an install: it has claimed it and takes a while (a slow disk) to finish.
    const tsx = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href;
    const foldJob = new URL('../../daemon/store/foldJob.ts', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(foldJob)}); }).then((foldJob) => {
        foldJob.claimInstall(workerData.state);
        parentPort.postMessage('claimed');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        require('node:fs').writeFileSync(workerData.marker, 'installed');
        foldJob.endInstall(workerData.state);
      });`;
    const worker = new Worker(code, { eval: true, workerData: { state, marker } });
    const exited = once(worker, 'exit');
    await once(worker, 'message');
    abandonFold(state);
    assert.equal(fs.readFileSync(marker, 'utf8'), 'installed', 'abandonFold returned only once the install had ended');
    await exited;
  });

  test('a worker that fails puts nothing in place and leaves no output behind; the renamed journal keeps its records', async () => {
    const store = await open(Number.MAX_SAFE_INTEGER);
    for (let index = 0; index < 5; index++) insert(store, `item-${index}`);
    const snapshotBefore = fs.readFileSync(files.database);
    const outcomes: boolean[] = [];
    const fold = new BackgroundFold(files);
    // A sequence the journal does not reach: the worker refuses to put a snapshot that lacks it in place.
    const fresh = fold.start(Journal.open(files.journal).journal, store.sequence + 1, (installed) => outcomes.push(installed));
    await fold.settled();
    fresh.close();
    assert.deepEqual(outcomes, [false]);
    assert.deepEqual(fs.readFileSync(files.database), snapshotBefore);
    assert.deepEqual(leftovers(), ['zavhoz.journal.folding']);
    const reopened = await open(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(names(reopened), Array.from({ length: 5 }, (_, index) => `item-${index}`));
    reopened.close();
  });

  test('a worker that cannot start leaves the open journal in use: writes after it are durable (review finding)', async () => {
    // Node refuses a relative worker script synchronously: `new Worker` throws inside the fold's start.
    const store = await Store.open({ ...files, migrations: [ITEMS], snapshotAfterBytes: 200, foldWorkerScript: 'store-worker.cjs' });
    for (let index = 0; index < 20; index++) {
      insert(store, `item-${index}`);
      await new Promise((resolve) => setImmediate(resolve)); // lets a fold try to start
    }
    assert.ok(!fs.existsSync(`${files.journal}.folding`), 'a fold that could not start put its journal back');
    // A file opened now would take a closed journal's descriptor: a write must not end up in it.
    const unrelated = path.join(folder, 'unrelated.log');
    const descriptor = fs.openSync(unrelated, 'w');
    insert(store, 'after');
    fs.closeSync(descriptor);
    assert.equal(fs.statSync(unrelated).size, 0, 'no journal record went into another file');
    // No close(): the process "dies" here; every acknowledged write is in the journal.
    const reopened = await open(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(names(reopened), [...Array.from({ length: 20 }, (_, index) => `item-${index}`), 'after']);
    reopened.close();
  });

  test('a fold starts the journal its predecessor prepared: the first writes after it do not extend the file', async () => {
    const store = await open(Number.MAX_SAFE_INTEGER);
    insert(store, 'first');
    let seq = store.sequence;
    store.close();
    const record = (name: string): { seq: number; operations: [string, string[]][] } => ({ seq: ++seq, operations: [['INSERT INTO items (name) VALUES (?)', [name]]] });
    const fold = new BackgroundFold(files);
    const journal = Journal.open(files.journal).journal;
    journal.append(record('second'));
    const afterFirst = fold.start(journal, seq, () => undefined);
    await fold.settled();
    assert.deepEqual(fs.readFileSync(`${files.journal}.next`), Buffer.alloc(JOURNAL_GROWTH_BYTES), 'the worker prepared the next journal');
    afterFirst.append(record('third'));
    const afterSecond = fold.start(afterFirst, seq, () => undefined);
    assert.equal(fs.statSync(files.journal).size, JOURNAL_GROWTH_BYTES, 'the prepared journal is the active one');
    afterSecond.append(record('fourth'));
    assert.equal(fs.statSync(files.journal).size, JOURNAL_GROWTH_BYTES, 'its first write overwrote zeros in place');
    await fold.settled();
    afterSecond.close();
    const reopened = await open(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(names(reopened), ['first', 'second', 'third', 'fourth']);
    reopened.close();
  });
});
