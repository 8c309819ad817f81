import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';
import type { Migration } from '../../daemon/store/migrations.js';
import { Store } from '../../daemon/store/store.js';

const ITEMS: Migration = { version: 1, description: 'items', statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)'] };

describe('store: the embedded store as the asynchronous Database', () => {
  let folder: string;
  let files: { database: string; journal: string };
  const open = async (): Promise<EmbeddedDatabase> => EmbeddedDatabase.of(await Store.open({ ...files, migrations: [ITEMS] }));
  const names = async (database: EmbeddedDatabase): Promise<string[]> =>
    (await database.all<{ name: string }>('SELECT name FROM items ORDER BY id')).map((row) => row.name);

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-database-'));
    files = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('a transaction resolved is durable; one that rejects leaves nothing behind', async () => {
    const database = await open();
    assert.equal(database.engine, 'embedded');
    await database.transaction(async (tx) => {
      await tx.run('INSERT INTO items (name) VALUES (?)', ['kept']);
    });
    await assert.rejects(
      database.transaction(async (tx) => {
        await tx.run('INSERT INTO items (name) VALUES (?)', ['lost']);
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual(await names(database), ['kept']);
    // No close: the process "dies"; the journal has the acknowledged write.
    const reopened = await open();
    assert.deepEqual(await names(reopened), ['kept']);
    await reopened.close();
  });

  test('a read outside a transaction never sees its uncommitted rows, and waits for it', async () => {
    const database = await open();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const writing = database.transaction(async (tx) => {
      await tx.run('INSERT INTO items (name) VALUES (?)', ['pending']);
      await held;
      assert.deepEqual(await tx.all('SELECT name FROM items'), [{ name: 'pending' }], 'the transaction sees its own rows');
    });
    let read: string[] | undefined;
    const reading = names(database).then((rows) => (read = rows));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(read, undefined, 'the read waits while the transaction is open');
    release();
    await Promise.all([writing, reading]);
    assert.deepEqual(read, ['pending']);
    await database.close();
  });

  test('transactions run one at a time, in the order they were asked for', async () => {
    const database = await open();
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        database.transaction(async (tx) => {
          order.push(`begin ${name}`);
          const count = (await tx.get<{ count: number }>('SELECT COUNT(*) AS count FROM items'))?.count ?? 0;
          await new Promise((resolve) => setImmediate(resolve));
          await tx.run('INSERT INTO items (id, name) VALUES (?, ?)', [count + 1, name]);
          order.push(`end ${name}`);
        }),
      ),
    );
    assert.deepEqual(order, ['begin a', 'end a', 'begin b', 'end b', 'begin c', 'end c', 'begin d', 'end d']);
    assert.deepEqual(await names(database), ['a', 'b', 'c', 'd']);
    await database.close();
  });

  test('a transaction\'s work that reads through the database instead of tx is refused, not left to hang', async () => {
    const database = await open();
    await assert.rejects(
      database.transaction(async (tx) => {
        await tx.run('INSERT INTO items (name) VALUES (?)', ['lost']);
        await database.get('SELECT COUNT(*) AS count FROM items');
      }),
      /read through tx\.get\(\) instead/,
    );
    await assert.rejects(
      database.transaction(() => database.transaction(() => Promise.resolve())),
      /transactions do not nest/,
    );
    assert.deepEqual(await names(database), [], 'the refused work was rolled back');
    // Its tx is of no use once it ended.
    let kept: Parameters<Parameters<EmbeddedDatabase['transaction']>[0]>[0] | undefined;
    await database.transaction((tx) => Promise.resolve((kept = tx)));
    await assert.rejects(kept!.run('INSERT INTO items (name) VALUES (?)', ['late']), /already ended/);
    await database.close();
  });

  test('close waits for the queued transactions and is safe to call twice', async () => {
    const database = await open();
    const writes = ['x', 'y'].map((name) => database.transaction((tx) => tx.run('INSERT INTO items (name) VALUES (?)', [name])));
    await Promise.all([database.close(), database.close(), ...writes]);
    const reopened = await open();
    assert.deepEqual(await names(reopened), ['x', 'y']);
    await reopened.close();
  });
});
