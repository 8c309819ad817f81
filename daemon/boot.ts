/**
 * The daemon's entry (`dist/daemon.cjs`): runs the daemon (`daemon/main.ts`, bundled as `dist/daemon-app.cjs`)
 * through V8's code cache (core/codeCache.ts), which cuts what a cold start spends compiling.
 */
import { runBundle } from './core/codeCache.js';

runBundle(import.meta.url, 'daemon-app.cjs');
