/**
 * The daemon's entry (`dist/daemon.cjs`): loads the daemon itself (`daemon-app.cjs`, beside this file) through V8's
 * code cache. Every client that finds no daemon waits for a cold start, and compiling the 1.7 MB bundle is the largest
 * part of it that is not I/O: with the cache, the bundle's compile and the lazy compiles of the functions a start runs
 * are read back instead (`npm run bench -- startup`).
 *
 * The cache lives beside the bundle (`.v8-cache/`), so it is exactly as trusted as the code it comes from: it is read
 * only when the bundle's owner owns it and nobody else may write it, and written only where that owner may write
 * (an install the user cannot write simply runs without it). Its name holds the bundle's size and mtime and the V8
 * version, so a rebuilt bundle or another Node never reads a stale one (V8 also rejects a cache that does not match
 * the source). It is written once the daemon has started and served (or when it exits, if sooner), so it holds the
 * code a start needs. Whatever
 * goes wrong with the cache, the daemon loads without it.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** How long after loading the cache is written: the daemon has started and usually answered its first client. */
const CACHE_AFTER_MS = 2_000;

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.join(here, 'daemon-app.cjs');
const source = fs.readFileSync(bundle, 'utf8');
const cacheFile = cachePath();
const cachedData = readCache(cacheFile);
const script = new vm.Script(Module.wrap(source), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
if (cacheFile && (!cachedData || script.cachedDataRejected)) {
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    writeCache(cacheFile, script);
  };
  // After the start (a daemon that keeps running), or at exit (one stopped sooner, e.g. by `zavhoz daemon stop`).
  setTimeout(write, CACHE_AFTER_MS).unref();
  process.once('exit', write);
}
const main = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
const bundleModule = { exports: {} };
main.call(bundleModule.exports, bundleModule.exports, Module.createRequire(bundle), bundleModule, bundle, here);

/** The cache file for this bundle and this Node, or undefined when the bundle cannot be looked at. */
function cachePath(): string | undefined {
  try {
    const stat = fs.statSync(bundle);
    const key = `${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}-${process.versions.v8}-${process.arch}`;
    return path.join(here, '.v8-cache', `daemon-${key.replace(/[^\w.-]/g, '_')}.v8`);
  } catch {
    return undefined;
  }
}

/** The cache, if there is one that the bundle's owner owns and nobody else may write. */
function readCache(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    const stat = fs.statSync(file);
    if ((stat.mode & 0o022) !== 0 || stat.uid !== fs.statSync(bundle).uid) return undefined;
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes the cache by rename (daemons of one install may start together), dropping other bundles' caches; never throws. */
function writeCache(file: string, compiled: vm.Script): void {
  try {
    const folder = path.dirname(file);
    fs.mkdirSync(folder, { recursive: true, mode: 0o755 });
    for (const name of fs.readdirSync(folder)) {
      if (name.startsWith('daemon-') && name !== path.basename(file)) fs.rmSync(path.join(folder, name), { force: true });
    }
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, compiled.createCachedData(), { mode: 0o600 });
    fs.renameSync(temporary, file);
  } catch {
    // A start without the cache is only slower.
  }
}
