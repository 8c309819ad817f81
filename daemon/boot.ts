/**
 * The daemon's entry (`dist/daemon.cjs`): runs the daemon (`daemon/main.ts`, bundled as `dist/daemon-app.cjs`)
 * through V8's code cache (core/codeCache.ts), which cuts what a cold start spends compiling.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runBundle } from './core/codeCache.js';
import { restoreCallerTunables } from './core/mallocTunables.js';
import { dataPaths, resolveDataFolder } from './core/paths.js';
import { startReadingSnapshot } from './store/snapshotPrefetch.js';
import { startCompilingSqlWasm } from './store/sqlWasm.js';

/**
 * SQLite (sql.js's WebAssembly) runs on V8's baseline code only (Liftoff), set before anything is compiled. By
 * default the SQL a start runs (migrations, the snapshot's integrity check, replay) makes functions "hot" and V8
 * recompiles them with its optimizing compiler on background threads; on two cores that competed with the start,
 * and the daemon's thread waited for it before serving its first client: 200–600 ms of every cold start
 * (`npm run bench -- startup`). The store's queries are short, so the optimized code never paid that back:
 * allocation p50 with 10,000 servers measured the same (`npm run bench -- inventory`). The flag applies to every
 * module compiled in this process (sql.js here and in the fold worker, libsodium). Compiling all of sql.js up front
 * (`--no-wasm-lazy-compilation`) was tried too: it cost more CPU than compiling the functions a start reaches.
 * Likewise each function is validated when it is first compiled, not all of them up front (`--wasm-lazy-validation`):
 * the module's compile, which the store waits for, took ~5% less CPU (20 paired runs).
 */
v8.setFlagsFromString('--liftoff-only');
v8.setFlagsFromString('--wasm-lazy-validation');

// The malloc settings the spawner gave this process are not passed on to the commands it runs (core/mallocTunables.ts).
restoreCallerTunables();

// Decoding sql.js's module, and reading the store's snapshot, overlap the bundle's load on other threads
// (store/sqlWasm.ts, store/snapshotPrefetch.ts).
startCompilingSqlWasm(path.join(path.dirname(fileURLToPath(import.meta.url)), 'sql-wasm.wasm'));
startReadingSnapshot(dataPaths(resolveDataFolder()).database);
runBundle(import.meta.url, 'daemon-app.cjs');
