import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { startCompilingSqlWasm, takeCompiledSqlWasm } from '../../daemon/store/sqlWasm.js';
import { Store } from '../../daemon/store/store.js';

// The daemon's entry starts compiling sql.js's WebAssembly before the bundle loads (daemon/boot.ts); the store
// takes that compile over. This file runs in a process of its own (ISOLATED in scripts/test.mjs), so its store is the
// first of it.

test('a background compile that fails leaves the store to compile the file itself: the daemon still starts', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-store-wasm-'));
  try {
    startCompilingSqlWasm(path.join(folder, 'no-such-sql-wasm.wasm'));
    const store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
    try {
      store.transaction((tx) => tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['wasm.test', 'ok', '2026-12-06T00:00:00.000Z']));
      assert.equal(store.get<{ value: string }>("SELECT value FROM settings WHERE key = 'wasm.test'")?.value, 'ok');
    } finally {
      store.close();
    }
    assert.equal(takeCompiledSqlWasm(), undefined, 'the compile is handed over once');
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});
