/**
 * The daemon's entry (`dist/daemon.cjs`): runs the daemon (`daemon/main.ts`, bundled as `dist/daemon-app.cjs`)
 * through V8's code cache (core/codeCache.ts), which cuts what a cold start spends compiling.
 */
import v8 from 'node:v8';
import { runBundle } from './core/codeCache.js';

/**
 * SQLite (sql.js) runs as WebAssembly compiled by V8's baseline compiler (Liftoff) only. With V8's default, the
 * SQL a start runs (migrations, the snapshot's integrity check, replay) makes its functions "hot", and V8 recompiles
 * them with its optimizing compiler on background threads; on two cores that work competed with the start itself,
 * and the daemon's thread waited for it before it served its first client: 200–600 ms of every cold start
 * (`npm run bench -- startup`). The store's queries are short, so the optimized code never paid that back here:
 * allocation p50 with 10,000 servers measured the same either way (`npm run bench -- inventory`). Set before the
 * bundle loads, so it applies to the module sql.js compiles, in this thread and in the fold worker.
 */
v8.setFlagsFromString('--liftoff-only');

runBundle(import.meta.url, 'daemon-app.cjs');
