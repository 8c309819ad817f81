// The test suite, in two tiers.
//   npm run test:unit   (node scripts/test.mjs --unit): the fast tier, run it first. Build, type-check (tsc -b is
//                       incremental: under a second when little changed), then test/unit: unit tests and the
//                       in-memory protocol tests. No keychain, sshd or daemon process (the playbook's step tests
//                       run a local ansible-playbook; ansible-lint, which alone took over two minutes on a busy
//                       machine, runs with the system suites); about 60 s of CPU, about 40 s on two idle cores
//                       (100 s and 64 s with a process per test file, measured side by side).
//   npm test            everything: the fast tier first, stopping there if it fails, then eslint and every other
//                       suite (integration, e2e, harness).
//   npm test -- PATH…   build, type-check, lint, then those files or folders only (`npm run test:unit -- PATH…`
//                       skips the lint). `npm run test:unit -- --isolate` runs each unit test file in a process of its
//                       own, `-- --shuffle[=SEED]` in another order (see runUnitTests).
// Suites that need system packages (keychain, sshd, ansible, chromium) are installed by .ci/run; see README.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { queueOrder, writeQueue, finishQueue } from './unit-queue.mjs';
import { buildUnitJs, runFolder } from './unit-js.mjs';

const started = Date.now();
const root = path.resolve(import.meta.dirname, '..');
const unitFolder = path.join(root, 'test', 'unit');
const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
const tool = (relative, args) => run(process.execPath, [path.join(root, relative), ...args]);

function testFiles(target) {
  const full = path.resolve(root, target);
  if (fs.statSync(full).isFile()) return [full];
  return fs
    .readdirSync(full, { recursive: true })
    .map((name) => path.join(full, String(name)))
    .filter((file) => file.endsWith('.test.ts'))
    .sort();
}

const isUnder = (file, folder) => file.startsWith(folder + path.sep);

// Unit test files keep to temporary folders and loopback. They run as JavaScript transformed once for the run
// (scripts/unit-js.mjs: tsx in each test process cost ~0.5-1 s of CPU per file), and, since each process of its own
// cost ~0.4 s of CPU before and around its file's tests (Node's start, the test runner, the imports every file
// shares), most share a few worker processes, one per core, that take the files off one queue in turn
// (scripts/unit-worker.mjs says what keeps the files apart there; scripts/unit-queue.mjs orders the queue, the
// costliest first). A hung file is cut off at two minutes (the slowest takes a few seconds), and its worker goes on.
// `--isolate` runs each file in a process of its own instead, as before (to tell whether a failure comes from another
// file in the same process); `--shuffle[=SEED]` shuffles the queue, to find a test that leans on the files before it.
// --liftoff-only: V8 runs WebAssembly (sql.js, libsodium) with its baseline compiler only. Every process that opens
// a store compiled sql.js again and again with the optimizing one in the background, for queries too few to repay
// it: the tier took ~20% less CPU without (120 against 150 s, all tests passing the same). The wasm means the same
// either way; the daemon and the system suites keep V8's default.
const FILE_TIMEOUT_MS = 120_000;
// The bound on a whole worker process, beyond the file's: a worker also ends itself, naming what was left open, when
// something keeps it alive after its last file (unit-worker.mjs).
const PROCESS_TIMEOUT_MS = 30 * 60_000;
// Files that need a process of their own, each with why.
const ISOLATED = new Set([
  // sql.js is initialized once per thread, from the compile the daemon's entry hands over (daemon/store/sqlWasm.ts):
  // the test's store must be the first of its process, and the product has no reset for that (nor needs one).
  path.join('test', 'unit', 'store-wasm.test.ts'),
]);

async function runUnitTests(files, { isolate, seed }) {
  const workers = Math.max(2, os.availableParallelism());
  const javaScriptOf = await buildUnitJs(root);
  const queues = path.join(runFolder(root), 'queues');
  const names = queueOrder(root, files.map((file) => path.relative(root, file)), seed);
  const entry = (name) => ({ name, javaScript: javaScriptOf(path.join(root, name)) });
  const alone = names.filter((name) => isolate || ISOLATED.has(name));
  const shared = names.filter((name) => !alone.includes(name));
  // node --test starts the processes in the order of their paths, one per core at a time: `queues/shared/` first, so
  // a file with a process of its own runs when a worker has found the queue empty.
  const folders = alone.map((name) => path.join(queues, name.replaceAll(path.sep, '_')));
  const entries = alone.flatMap((name, index) => writeQueue(folders[index], [entry(name)], { workers: 1, fileTimeoutMs: FILE_TIMEOUT_MS }));
  if (shared.length > 0) {
    folders.push(path.join(queues, 'shared'));
    entries.push(...writeQueue(folders.at(-1), shared.map(entry), { workers, fileTimeoutMs: FILE_TIMEOUT_MS }));
  }
  if (seed !== undefined) console.log(`The files run in an order shuffled with seed ${seed} (--shuffle=${seed} runs it again).`);
  const result = spawnSync(
    process.execPath,
    ['--enable-source-maps', '--liftoff-only', '--test', `--test-concurrency=${workers}`, `--test-timeout=${PROCESS_TIMEOUT_MS}`, ...entries],
    { cwd: root, stdio: 'inherit' },
  );
  const missing = folders.flatMap((folder) => finishQueue(root, folder));
  if (missing.length > 0) console.error(`\nThese test files did not run to the end (their process died or was cut off): ${missing.join(', ')}`);
  if (result.status !== 0 || missing.length > 0) process.exit(result.status || 1);
}

// Suites start real daemons, keychains and sshd: two at a time fits a 2-core machine without starving them.
// The timeout bounds each test file as a whole (node runs each in a process of its own): the Ansible suites run a
// dozen real deploys, which took 10 minutes on a busy 2-core machine; deploy.test.ts, with 22 real-engine tests, took
// 18 minutes in a CI run beside the end-to-end suite, so a hung file is cut off at 30 (the whole run takes ~30).
function runSystemTests(files) {
  // The end-to-end suite runs in code-server with Node 24, installed into .test-tools/ (skipped when present).
  if (files.some((file) => isUnder(file, path.join(root, 'test', 'e2e')))) tool('scripts/e2e-tools.mjs', []);
  run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=1800000', ...files]);
}

const args = process.argv.slice(2);
const unitTier = args.includes('--unit');
const shuffle = args.find((arg) => /^--shuffle(=\d+)?$/.test(arg));
const unitOptions = {
  isolate: args.includes('--isolate'),
  seed: shuffle === undefined ? undefined : Number(shuffle.split('=')[1] ?? Math.floor(Math.random() * 1e9)),
};
const targets = args.filter((arg) => !['--unit', '--isolate', shuffle].includes(arg));

tool('scripts/build.mjs', []);
// tsx runs tests without checking types, so the type-check belongs to the first signal.
tool('node_modules/typescript/bin/tsc', ['-b']);

if (unitTier) {
  await runUnitTests((targets.length > 0 ? targets : [unitFolder]).flatMap(testFiles), unitOptions);
  console.log(`\nThe fast tier passed in ${Math.round((Date.now() - started) / 1000)} s.`);
} else if (targets.length > 0) {
  tool('node_modules/eslint/bin/eslint.js', ['.']);
  runSystemTests(targets.flatMap(testFiles));
} else {
  await runUnitTests(testFiles(unitFolder), unitOptions);
  console.log(`\nThe fast tier (npm run test:unit) passed in ${Math.round((Date.now() - started) / 1000)} s; now lint and the system suites.\n`);
  tool('node_modules/eslint/bin/eslint.js', ['.']);
  runSystemTests(testFiles('test').filter((file) => !isUnder(file, unitFolder)));
}
