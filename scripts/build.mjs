// Bundles the four outputs with esbuild: the extension (CommonJS, `vscode` external), the daemon and the CLI
// (Node), and the webviews (browser). Type checking is separate: `tsc -b` (npm run typecheck).
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const production = process.argv.includes('--production');
const dist = path.join(root, 'dist');

// Native add-ons cannot be bundled; they ship in node_modules (see .vscodeignore).
const nativeExternals = ['@napi-rs/keyring', 'ssh2', 'cpu-features'];

/**
 * Every build drops whitespace and simplifies syntax (a smaller bundle parses faster: the daemon's cold start is
 * mostly compiling it) but keeps identifiers, so a stack trace still names the functions it went through; the
 * source maps (.map beside each bundle) give the lines back. `--production` also shortens identifiers.
 */
const minifying = production ? { minify: true } : { minifyWhitespace: true, minifySyntax: true };

/**
 * Packages imported by default (`import ssh2 from 'ssh2'`) that load on first use instead of when the bundle starts.
 * `ssh2`: evaluating it took ~100 ms of every daemon start, and a daemon opens SSH only when asked to. `pg`: only a
 * data folder that joined a team uses PostgreSQL, and loading it took ~70 ms of every start (its `stream.js` reads
 * the global `Response` to detect Cloudflare, which makes Node load its whole fetch implementation, undici). The
 * bundle's default import gets an object that requires the real module the first time a property is read
 * (`ssh2.Client`, `pg.Pool`). `libsodium-wrappers` (sealing GitHub secrets) and `nodemailer` (e-mail notifications)
 * likewise. Each is still bundled, or has a bundle of its own (VENDOR_BUNDLES below).
 */
const LAZY_DEFAULT_IMPORTS = ['ssh2', 'pg', 'libsodium-wrappers', 'nodemailer'];

const lazyDefaultImports = {
  name: 'lazy-default-imports',
  setup(build) {
    const filter = new RegExp(`^(${LAZY_DEFAULT_IMPORTS.join('|')})$`);
    build.onResolve({ filter }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'lazy-default' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-default' }, (args) => ({
      loader: 'js',
      resolveDir: root,
      contents: [
        'let loaded;',
        `const load = () => (loaded ??= ${loadExpression(args.path, 'default')});`,
        'export default new Proxy({}, {',
        '  get: (_target, key) => load()[key],',
        '  has: (_target, key) => key in load(),',
        '});',
      ].join('\n'),
    }));
  },
};

/**
 * Packages the daemon evaluates when first used instead of when its bundle starts: each took CPU of every start
 * before the first answer (`npm run bench -- startup`), and a start needs none of them: Octokit (~12 ms: it builds a
 * map of GitHub's ~1,000 endpoints), the OS keychain's native add-on (~5 ms: dlopen and its loader), yaml (~3 ms).
 * An `import { X } from 'pkg'` gets an object whose properties (every name the package exports, read here at build
 * time) require the real package the first time one is read; the package is still bundled (or stays external).
 */
const LAZY_PACKAGES = [
  '@octokit/rest',
  '@octokit/plugin-retry',
  '@octokit/plugin-throttling',
  '@octokit/auth-app',
  '@napi-rs/keyring',
  'yaml',
  // Node's own modules that a start does not use (worker_threads: ~7 ms, only a fold needs it; tls: an e-mail
  // channel's certificates; child_process, readline, string_decoder: runs and shells; v8 and vm: the keychain's wipe).
  'node:worker_threads',
  'node:tls',
  'node:child_process',
  'node:readline',
  'node:string_decoder',
  'node:v8',
  'node:vm',
];

/**
 * The names a package exports, read by loading it in this build process; undefined (with a warning) when it cannot
 * load here (a native add-on built for another platform, say): that package is then loaded at start as before.
 */
async function exportedNames(name) {
  try {
    try {
      return Object.keys(require(name));
    } catch (error) {
      if (error.code !== 'ERR_REQUIRE_ESM') throw error;
      return Object.keys(await import(name));
    }
  } catch (error) {
    console.warn(`build: ${name} could not be loaded here (${error.message.split('\n')[0]}); the daemon loads it at start`);
    return undefined;
  }
}

const lazyPackageExports = new Map(
  (await Promise.all(LAZY_PACKAGES.map(async (name) => [name, await exportedNames(name)]))).filter(([, names]) => names !== undefined),
);

const lazyPackages = {
  name: 'lazy-packages',
  setup(build) {
    const filter = new RegExp(`^(${[...lazyPackageExports.keys()].map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'lazy-package' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => ({
      loader: 'js',
      resolveDir: root,
      contents: [
        'let loaded;',
        `const load = () => (loaded ??= ${loadExpression(args.path, 'named')});`,
        ...lazyPackageExports
          .get(args.path)
          .filter((key) => key !== 'default' && key !== '__esModule')
          .map((key) => `Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, get: () => load()[${JSON.stringify(key)}] });`),
      ].join('\n'),
    }));
  },
};

/**
 * Packages the daemon needs for one feature only, each group bundled on its own (`dist/vendor/<group>.cjs`) and read
 * the first time the feature uses it. Lazy evaluation (above) spares a start their top-level code, but not their
 * bytes: the daemon's bundle is read, decoded and loaded through the code cache whole at every start, in time that
 * grows with its size (`npm run bench -- startup`). Together these were ~1 MB of the 2.2 MB bundle: Octokit (GitHub,
 * one group, as its plugins extend its class), nodemailer (e-mail notifications), libsodium (sealing GitHub secrets),
 * yaml (compose files and .env templates), pg (team mode). Each must be imported with `import` statements, which the
 * lazy plugins above turn into a load on first use (the build fails on any other kind of import of one).
 */
const VENDOR_BUNDLES = {
  octokit: ['@octokit/rest', '@octokit/plugin-retry', '@octokit/plugin-throttling', '@octokit/auth-app'],
  mail: ['nodemailer'],
  sodium: ['libsodium-wrappers'],
  yaml: ['yaml'],
  pg: ['pg'],
};

const vendorGroupOf = new Map(Object.entries(VENDOR_BUNDLES).flatMap(([group, names]) => names.map((name) => [name, group])));

/**
 * The expression by which a lazy import loads package `name`: the module `require` returns, or for a vendored package
 * the namespace its vendor bundle holds for it (whose `default` is what a default import gets).
 */
function loadExpression(name, importKind) {
  const group = vendorGroupOf.get(name);
  if (group === undefined) return `require(${JSON.stringify(name)})`;
  const namespace = `require(${JSON.stringify(`./vendor/${group}.cjs`)}).packages[${JSON.stringify(name)}]`;
  return importKind === 'default' ? `${namespace}.default` : namespace;
}

/**
 * In the daemon's bundle: the vendor bundles stay outside (required beside the bundle when first used), and a
 * vendored package imported other than by an `import` statement stops the build, as it would be bundled again.
 */
const vendorBundles = {
  name: 'vendor-bundles',
  setup(build) {
    build.onResolve({ filter: /^\.\/vendor\/[\w-]+\.cjs$/ }, (args) => (args.namespace === 'file' ? undefined : { path: args.path, external: true }));
    const names = [...vendorGroupOf.keys()].map((name) => name.replace(/[/.]/g, '\\$&'));
    build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({
      errors: [{ text: `${args.path} has a bundle of its own (VENDOR_BUNDLES): import it with an import statement, which loads it on first use (${args.kind} in ${args.importer})` }],
    }));
  },
};

/** The vendor bundles themselves: each exports `packages`, every package's namespace by its name. */
function vendorBuilds() {
  return Object.entries(VENDOR_BUNDLES).map(([group, names]) =>
    build({
      ...node,
      stdin: {
        contents: [
          ...names.map((name, index) => `import * as package${index} from ${JSON.stringify(name)};`),
          `export const packages = { ${names.map((name, index) => `${JSON.stringify(name)}: package${index}`).join(', ')} };`,
        ].join('\n'),
        resolveDir: root,
        loader: 'js',
        sourcefile: `vendor-${group}.mjs`,
      },
      outfile: path.join(dist, 'vendor', `${group}.cjs`),
    }),
  );
}

/**
 * zod imported as a namespace (`import * as z from 'zod'`), so that esbuild keeps only the parts used: `import { z }`
 * made it keep all of zod's namespace, its ~50 error-message locales included (570 of the daemon's 2,200 KB). zod says
 * it has no side effects, and where a bundle wraps zod's modules in lazy initialisers (the CLI's, as the MCP SDK
 * imports zod too) esbuild then dropped the call that initialises zod before our schemas are built: marked here as
 * having side effects, each import of it keeps that call.
 */
const zodInitialised = {
  name: 'zod-initialised',
  setup(build) {
    build.onResolve({ filter: /^zod$/ }, async (args) => {
      if (args.pluginData?.zodInitialised) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { zodInitialised: true } });
      return resolved.errors.length > 0 ? undefined : { ...resolved, sideEffects: true };
    });
  },
};

/**
 * Node's own modules, imported once per bundle. esbuild turns each file's `import fs from 'node:fs'` into a copy of
 * the module's properties (`__toESM`): with ~30 files importing crypto, fs and path, the daemon's start spent ~20 ms
 * copying them (`npm run bench -- startup`, CPU profile). Here every such import goes through one module per builtin
 * that re-exports it: one copy for the named imports, and the default import is the module itself.
 */
const builtinsOnce = {
  name: 'builtins-once',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) =>
      // Only our own files' imports: the module made here re-exports the real one (and packages keep theirs).
      args.kind === 'import-statement' && args.namespace === 'file' && !args.importer.includes(`${path.sep}node_modules${path.sep}`)
        ? { path: args.path, namespace: 'builtin-once' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin-once' }, (args) => ({
      loader: 'js',
      contents: `export * from ${JSON.stringify(args.path)};\nexport default require(${JSON.stringify(args.path)});\n`,
    }));
  },
};

/** @type {esbuild.BuildOptions} */
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  ...minifying,
  // ASCII only (esbuild's default, stated because core/codeCache.ts reads an ASCII bundle as Latin-1, much faster).
  charset: 'ascii',
  logLevel: 'warning',
  // ESM sources use import.meta.url to find files beside themselves; give CommonJS output the same answer.
  banner: { js: "const __zavhozImportMetaUrl = require('url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__zavhozImportMetaUrl', __ZAVHOZ_VERSION__: JSON.stringify(pkg.version) },
  external: nativeExternals,
  plugins: [zodInitialised, builtinsOnce],
};

/**
 * Writes `contents` to `file` by rename, and not at all when the file already holds them: test files run side by
 * side, and one of them (npm start, packaging) may rebuild while another is starting dist/cli.cjs or daemon.cjs,
 * which must never read a half-written bundle.
 */
function replaceFile(file, contents) {
  try {
    if (fs.readFileSync(file).equals(contents)) return;
  } catch {
    // Not there yet.
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Outside dist/webview/ (which the package ships whole), and with the final mode, so the file is never seen
  // without it: the CLI bundle is executable.
  const temporary = path.join(dist, `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temporary, contents, { mode: path.basename(file) === 'cli.cjs' ? 0o755 : 0o644 });
  fs.renameSync(temporary, file);
}

/** Builds with esbuild in memory, then replaces the changed outputs. */
async function build(options) {
  const result = await esbuild.build({ ...options, write: false });
  for (const output of result.outputFiles) replaceFile(output.path, Buffer.from(output.contents));
}

/**
 * The database a new data folder starts from (daemon/store/emptyDatabase.ts): the product's migrations applied to an
 * empty database by the daemon's own code, rebuilt with every build so it always matches them.
 */
async function emptyStoreDatabase() {
  const result = await esbuild.build({
    ...node,
    sourcemap: false,
    external: [...nativeExternals, 'sql.js'],
    stdin: {
      contents: "export { migratedEmptyDatabase } from './daemon/store/emptyDatabase.ts'; export { MIGRATIONS } from './daemon/store/schema.ts';",
      resolveDir: root,
      loader: 'ts',
    },
    write: false,
  });
  const generator = { exports: {} };
  new Function('module', 'exports', 'require', '__filename', result.outputFiles[0].text)(generator, generator.exports, require, path.join(dist, 'empty-store.cjs'));
  const SQL = await require('sql.js')();
  replaceFile(path.join(dist, 'empty-store.db'), Buffer.from(generator.exports.migratedEmptyDatabase(SQL, generator.exports.MIGRATIONS)));
}

fs.mkdirSync(dist, { recursive: true });
const started = Date.now();
await Promise.all([
  emptyStoreDatabase(),
  // The daemon's entry loads its bundle through V8's code cache (daemon/boot.ts, core/codeCache.ts).
  build({ ...node, entryPoints: [path.join(root, 'daemon/boot.ts')], outfile: path.join(dist, 'daemon.cjs') }),
  build({ ...node, entryPoints: [path.join(root, 'daemon/main.ts')], outfile: path.join(dist, 'daemon-app.cjs'), plugins: [lazyDefaultImports, lazyPackages, vendorBundles, zodInitialised, builtinsOnce] }),
  ...vendorBuilds(),
  // The store's fold worker (daemon/store/fold.ts finds it beside daemon.cjs).
  build({ ...node, entryPoints: [path.join(root, 'daemon/store/foldWorker.ts')], outfile: path.join(dist, 'store-worker.cjs') }),
  // The CLI's entry, likewise (daemon/cli/boot.ts).
  build({
    ...node,
    entryPoints: [path.join(root, 'daemon/cli/boot.ts')],
    outfile: path.join(dist, 'cli.cjs'),
    banner: { js: `#!/usr/bin/env node\n${node.banner.js}` },
  }),
  build({ ...node, entryPoints: [path.join(root, 'daemon/cli/main.ts')], outfile: path.join(dist, 'cli-app.cjs') }),
  build({
    ...node,
    entryPoints: [path.join(root, 'extension/extension.ts')],
    outfile: path.join(dist, 'extension.cjs'),
    external: ['vscode', ...nativeExternals],
  }),
  build({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    sourcemap: true,
    ...minifying,
    logLevel: 'warning',
    entryPoints: fs
      .readdirSync(path.join(root, 'webview'))
      .filter((name) => /^[a-z][\w-]*\.ts$/.test(name) && !name.endsWith('.d.ts'))
      .filter((name) => fs.readFileSync(path.join(root, 'webview', name), 'utf8').includes('@entry'))
      .map((name) => path.join(root, 'webview', name)),
    outdir: path.join(dist, 'webview'),
  }),
]);
// A vendor group renamed or removed leaves no bundle behind that the package would still ship (.vscodeignore).
for (const name of fs.readdirSync(path.join(dist, 'vendor'))) {
  if (!Object.hasOwn(VENDOR_BUNDLES, name.replace(/\.cjs(\.map)?$/, ''))) fs.rmSync(path.join(dist, 'vendor', name), { force: true });
}
replaceFile(path.join(dist, 'sql-wasm.wasm'), fs.readFileSync(require.resolve('sql.js/dist/sql-wasm.wasm')));
fs.chmodSync(path.join(dist, 'cli.cjs'), 0o755);
console.log(`built dist/ in ${Date.now() - started} ms`);
