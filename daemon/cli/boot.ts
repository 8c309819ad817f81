/**
 * The CLI's entry (`dist/cli.cjs`): runs the CLI (`daemon/cli/main.ts`, bundled as `dist/cli-app.cjs`) through V8's
 * code cache (core/codeCache.ts), which cuts what every command spends compiling before it does anything.
 */
import { runBundle } from '../core/codeCache.js';

runBundle(import.meta.url, 'cli-app.cjs');
