import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Database } from 'sql.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { legacySnapshotChecksumOf, loadSqlJs, snapshotChecksumOf } from '../../daemon/store/snapshotFile.js';
import { Store } from '../../daemon/store/store.js';

const ITEMS: Migration = { version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)'] };
const PAGE = 4096;

describe('store: the checksum recorded beside each snapshot', () => {
  let folder: string;
  let files: { database: string; journal: string };
  const open = (snapshotAfterBytes?: number): Promise<Store> => Store.open({ ...files, migrations: [ITEMS], ...(snapshotAfterBytes ? { snapshotAfterBytes } : {}) });
  const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  /** The record the store writes on this Node: CRC-32 of the file's bytes, in hex, and their length. */
  const expectedRecord = (file: string): string => {
    const bytes = fs.readFileSync(file);
    return `crc32 ${zlib.crc32(bytes).toString(16).padStart(8, '0')} ${bytes.length}`;
  };
  const recorded = (): string => fs.readFileSync(snapshotChecksumOf(files.database), 'utf8');
  /** Turns the folder into one written before `.checksum`: only the bare SHA-256 of the snapshot, in `.sha256`. */
  const asLegacyFolder = (digest = sha256(files.database)): void => {
    fs.rmSync(snapshotChecksumOf(files.database), { force: true });
    fs.writeFileSync(legacySnapshotChecksumOf(files.database), digest);
  };
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
    assert.equal(recorded(), expectedRecord(files.database));
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
    assert.equal(recorded(), expectedRecord(files.database), 'the fold recorded its snapshot');
    store.close();
    assert.equal(recorded(), expectedRecord(files.database));
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

  /** Runs `work` with a count of the integrity checks the store runs meanwhile (sql.js's exec, wrapped). */
  const countingChecks = async (work: (checks: () => number) => Promise<void>): Promise<void> => {
    const SQL = await loadSqlJs();
    const statements: string[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the wrapper below calls it with its own `this`
    const exec = SQL.Database.prototype.exec;
    SQL.Database.prototype.exec = function (this: Database, sql: string, ...rest: unknown[]) {
      statements.push(sql);
      return exec.call(this, sql, ...(rest as []));
    };
    try {
      await work(() => statements.filter((sql) => sql.includes('quick_check')).length);
    } finally {
      SQL.Database.prototype.exec = exec;
    }
  };
  const filledStore = async (): Promise<void> => {
    const store = await open();
    fill(store, 200);
    store.close();
  };

  test('a snapshot byte for byte as recorded is not checked again; any other is', async () => {
    await countingChecks(async (checks) => {
      await filledStore();
      (await open()).close();
      assert.equal(checks(), 0, 'the recorded snapshot was not checked');
      fs.rmSync(snapshotChecksumOf(files.database));
      (await open()).close();
      assert.equal(checks(), 1, 'without the checksum it was');
    });
  });

  test('a torn or unknown record is no match: the snapshot is checked', async () => {
    await countingChecks(async (checks) => {
      await filledStore();
      const whole = recorded();
      const variants = [whole.slice(0, -2), whole.slice(0, 10), '', `${whole} 1`, whole.replace('crc32', 'md5')];
      for (const [index, variant] of variants.entries()) {
        fs.writeFileSync(snapshotChecksumOf(files.database), variant);
        (await open()).close();
        assert.equal(checks(), index + 1, `checked with the record ${JSON.stringify(variant)}`);
      }
    });
  });

  test('bytes damaged since the record are caught, also where the length is unchanged', async () => {
    await filledStore();
    const bytes = fs.readFileSync(files.database);
    // One flipped bit in a row's text: SQLite's quick check does not look at row contents, only the checksum can tell.
    const flipped = bytes.lastIndexOf('item-1'.padEnd(20, 'x'));
    assert.ok(flipped > 0);
    bytes[flipped + 12] = (bytes[flipped + 12] ?? 0) ^ 0x01;
    fs.writeFileSync(files.database, bytes);
    await countingChecks(async (checks) => {
      (await open()).close();
      assert.equal(checks(), 1, 'the changed file was checked, not trusted');
    });
    damageAPage();
    await assert.rejects(open(), (error: ZavhozError) => error.code === ErrorCodes.StoreUnavailable);
  });

  test("a folder from before: its .sha256 is honoured when it matches, and the next snapshot replaces it", async () => {
    await countingChecks(async (checks) => {
      await filledStore();
      asLegacyFolder();
      const store = await open();
      assert.equal(checks(), 0, 'a matching SHA-256 spared the check');
      assert.equal(fs.existsSync(legacySnapshotChecksumOf(files.database)), true, 'a start that wrote nothing leaves it');
      fill(store, 1);
      store.close();
      assert.equal(recorded(), expectedRecord(files.database));
      assert.equal(fs.existsSync(legacySnapshotChecksumOf(files.database)), false, 'the old record is gone');
      (await open()).close();
      assert.equal(checks(), 0);
    });
  });

  test('a .sha256 that does not match (or is torn) sends the snapshot to the check, which refuses damage', async () => {
    await countingChecks(async (checks) => {
      await filledStore();
      asLegacyFolder('0'.repeat(64));
      (await open()).close();
      assert.equal(checks(), 1, 'a wrong digest was not trusted');
      asLegacyFolder(sha256(files.database).slice(0, 40));
      (await open()).close();
      assert.equal(checks(), 2, 'a torn digest was not trusted');
    });
    asLegacyFolder();
    damageAPage();
    await assert.rejects(open(), (error: ZavhozError) => error.code === ErrorCodes.StoreUnavailable);
  });

  test('on a Node without zlib.crc32 (before 20.15) SHA-256 is recorded, and either record is read by the algorithm it names', async () => {
    const { crc32 } = zlib;
    await countingChecks(async (checks) => {
      try {
        Object.assign(zlib, { crc32: undefined });
        await filledStore();
        const bytes = fs.readFileSync(files.database);
        assert.equal(recorded(), `sha256 ${sha256(files.database)} ${bytes.length}`);
        (await open()).close();
        assert.equal(checks(), 0, 'its own record spared the check');
      } finally {
        Object.assign(zlib, { crc32 });
      }
      (await open()).close();
      assert.equal(checks(), 0, 'a newer Node reads the SHA-256 record too');
      const store = await open();
      fill(store, 1);
      store.close();
      try {
        Object.assign(zlib, { crc32: undefined });
        (await open()).close();
        assert.equal(checks(), 1, 'a CRC-32 record it cannot compute is no match');
      } finally {
        Object.assign(zlib, { crc32 });
      }
    });
  });
});
