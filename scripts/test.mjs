// The whole test suite: build, type-check, then every test file with node's test runner.
// `npm test -- test/unit` runs one folder (or file) only. Suites that need system packages (keychain, sshd,
// ansible, chromium) are installed by .ci/run; see README.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

function testFiles(target) {
  const full = path.resolve(root, target);
  if (fs.statSync(full).isFile()) return [full];
  return fs
    .readdirSync(full, { recursive: true })
    .map((name) => path.join(full, String(name)))
    .filter((file) => file.endsWith('.test.ts'))
    .sort();
}

const targets = process.argv.slice(2);
run(process.execPath, ['scripts/build.mjs']);
run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b']);
run(process.execPath, [path.join(root, 'node_modules/eslint/bin/eslint.js'), '.']);
const files = (targets.length > 0 ? targets : ['test']).flatMap(testFiles);
// The end-to-end suite runs in code-server with Node 24, installed into .test-tools/ (skipped when present).
if (files.some((file) => file.startsWith(path.join(root, 'test', 'e2e') + path.sep))) run(process.execPath, ['scripts/e2e-tools.mjs']);
// Suites start real daemons, keychains and sshd: two at a time fits a 2-core machine without starving them.
// The timeout bounds each test file as a whole (node runs each in a process of its own): the Ansible suites run a
// dozen real deploys, which took 10 minutes on a busy 2-core machine, so a hung file is cut off at 20.
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=1200000', ...files]);
