/**
 * Loads a bundle through V8's code cache: the entries `dist/daemon.cjs` (daemon/boot.ts) and `dist/cli.cjs`
 * (cli/boot.ts) load `daemon-app.cjs` and `cli-app.cjs` beside them this way. Every client that finds no daemon waits
 * for a cold start, and every `zavhoz` command pays its start: compiling a bundle of 1–2 MB is the largest part of
 * either that is not I/O. With the cache, the bundle's compile and the lazy compiles of the functions a start runs are
 * read back instead (`npm run bench -- startup`).
 *
 * The cache lives beside the bundle (`.v8-cache/`), so it is exactly as trusted as the code it comes from: it is read
 * only when the bundle's owner owns it and nobody else may write it, and written only where that owner may write
 * (an install the user cannot write simply runs without it). Its name holds the bundle's size and mtime and the V8
 * version, so a rebuilt bundle or another Node never reads a stale one (V8 also rejects a cache that does not match
 * the source). It is written once the program has started and served (or when it exits, if sooner), so it holds
 * the code a start needs. Whatever
 * goes wrong with the cache, the daemon loads without it.
 */
import { isAscii } from 'node:buffer';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** How long after loading the cache is written: a daemon has started and usually answered its first client by then. */
const CACHE_AFTER_MS = 2_000;

/** Runs the CommonJS bundle `name` that lies beside the entry whose `import.meta.url` is `entryUrl`. */
export function runBundle(entryUrl: string, name: string): void {
  const here = path.dirname(fileURLToPath(entryUrl));
  const bundle = path.join(here, name);
  const source = readSource(bundle);
  const cacheFile = cachePath(bundle);
  const cachedData = readCache(cacheFile, bundle);
  const script = new vm.Script(Module.wrap(source), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  if (cacheFile && (!cachedData || script.cachedDataRejected)) scheduleCacheWrite(cacheFile, `${path.basename(bundle, '.cjs')}--`, script);
  const main = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const bundleModule = { exports: {} };
  main.call(bundleModule.exports, bundleModule.exports, Module.createRequire(bundle), bundleModule, bundle, here);
}

/**
 * The bundle's text. esbuild writes ASCII only (its default `charset`, which scripts/build.mjs states), and ASCII
 * decoded as Latin-1 is the same text in a fraction of the time: UTF-8 decoding the 2.5 MB daemon bundle took 7–17 ms
 * of every start. A bundle with other bytes is decoded as UTF-8.
 */
function readSource(bundle: string): string {
  const bytes = fs.readFileSync(bundle);
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
}

/** Writes the cache after the start (a program that keeps running), or at exit (one that ends sooner). */
function scheduleCacheWrite(cacheFile: string, prefix: string, script: vm.Script): void {
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    writeCache(cacheFile, prefix, script);
  };
  setTimeout(write, CACHE_AFTER_MS).unref();
  process.once('exit', write);
}

/** The cache file for this bundle and this Node, or undefined when the bundle cannot be looked at. */
function cachePath(bundle: string): string | undefined {
  try {
    const stat = fs.statSync(bundle);
    const key = `${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}-${process.versions.v8}-${process.arch}`;
    return path.join(path.dirname(bundle), '.v8-cache', `${path.basename(bundle, '.cjs')}--${key.replace(/[^\w.-]/g, '_')}.v8`);
  } catch {
    return undefined;
  }
}

/** The cache, if there is one that the bundle's owner owns and nobody else may write. */
function readCache(file: string | undefined, bundle: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    const stat = fs.statSync(file);
    if ((stat.mode & 0o022) !== 0 || stat.uid !== fs.statSync(bundle).uid) return undefined;
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes the cache by rename (daemons of one install may start together), dropping older builds' caches; never throws. */
function writeCache(file: string, prefix: string, compiled: vm.Script): void {
  try {
    const folder = path.dirname(file);
    fs.mkdirSync(folder, { recursive: true, mode: 0o755 });
    for (const name of fs.readdirSync(folder)) {
      if (name.startsWith(prefix) && name !== path.basename(file)) fs.rmSync(path.join(folder, name), { force: true });
    }
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, compiled.createCachedData(), { mode: 0o600 });
    fs.renameSync(temporary, file);
  } catch {
    // A start without the cache is only slower.
  }
}
