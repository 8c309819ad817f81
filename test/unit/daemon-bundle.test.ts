/**
 * What the build puts in the daemon's bundle (scripts/build.mjs): every start reads, decodes and loads
 * `dist/daemon-app.cjs` whole, so the packages one feature needs live in bundles of their own (`dist/vendor/`), and
 * zod keeps only the parts we use. Reads the built files (the test runner builds first).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';

const dist = path.join(import.meta.dirname, '..', '..', 'dist');
const require = createRequire(import.meta.url);

/** The source files a bundle was built from, as its source map names them. */
function bundledSources(bundle: string): string[] {
  const map = JSON.parse(fs.readFileSync(path.join(dist, `${bundle}.map`), 'utf8')) as { sources: string[] };
  return map.sources;
}

/** The package a bundled source file belongs to, or undefined for our own files. */
function packageOf(source: string): string | undefined {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1];
}

/** Every package a vendor bundle holds, its dependencies included (from their source maps). */
function vendoredPackages(): Set<string> {
  const maps = fs.readdirSync(path.join(dist, 'vendor')).filter((name) => name.endsWith('.cjs.map'));
  return new Set(maps.flatMap((map) => bundledSources(path.join('vendor', map.replace(/\.map$/, ''))).map(packageOf)).filter((name) => name !== undefined));
}

describe("the daemon's bundle", () => {
  test('holds none of the packages a vendor bundle holds (a package in both would be two copies of it)', () => {
    const vendored = vendoredPackages();
    for (const name of ['@octokit/rest', '@octokit/core', 'nodemailer', 'libsodium', 'libsodium-wrappers', 'yaml', 'pg', 'pg-protocol', 'bottleneck']) {
      assert.ok(vendored.has(name), `${name} is in a vendor bundle`);
    }
    const packages = new Set(bundledSources('daemon-app.cjs').map(packageOf));
    assert.ok(packages.has('vscode-jsonrpc'), 'the source map names bundled packages');
    assert.deepEqual([...vendored].filter((name) => packages.has(name)), []);
  });

  test("keeps zod's English messages only, not its ~50 other locales", () => {
    for (const bundle of ['daemon-app.cjs', 'cli-app.cjs', 'extension.cjs']) {
      const locales = bundledSources(bundle).filter((source) => source.includes('node_modules/zod/v4/locales/') && !source.endsWith('/index.js'));
      assert.deepEqual(locales.map((source) => path.basename(source)), ['en.js'], bundle);
    }
  });

  test('each vendor bundle loads and exports its packages by name', async () => {
    const load = (group: string): Record<string, Record<string, unknown>> =>
      (require(path.join(dist, 'vendor', `${group}.cjs`)) as { packages: Record<string, Record<string, unknown>> }).packages;
    const octokit = load('octokit');
    assert.equal(typeof octokit['@octokit/rest']?.Octokit, 'function');
    assert.equal(typeof octokit['@octokit/plugin-retry']?.retry, 'function');
    assert.equal(typeof octokit['@octokit/plugin-throttling']?.throttling, 'function');
    assert.equal(typeof octokit['@octokit/auth-app']?.createAppAuth, 'function');
    assert.equal(typeof load('yaml').yaml?.parseDocument, 'function');
    // A default import gets the namespace's `default`: what `import pg from 'pg'` gives.
    assert.equal(typeof (load('pg').pg?.default as { Pool?: unknown } | undefined)?.Pool, 'function');
    assert.equal(typeof (load('mail').nodemailer?.default as { createTransport?: unknown } | undefined)?.createTransport, 'function');
    const sodium = load('sodium')['libsodium-wrappers']?.default as { ready: Promise<void>; crypto_box_PUBLICKEYBYTES: number };
    await sodium.ready;
    assert.equal(sodium.crypto_box_PUBLICKEYBYTES, 32);
  });
});
