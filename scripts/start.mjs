// `npm start`: build, start the daemon with its embedded defaults, and open VS Code with the extension.
// Desktop VS Code (`code` on PATH) gets `--extensionDevelopmentPath`; without it, the code-server of the end-to-end
// suite (installed once into .test-tools/) serves the packaged extension and this prints its local URL.
// Run with `node --import tsx` (package.json does) so it can reuse the e2e suite's TypeScript helpers.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const workspace = process.env.INIT_CWD && fs.existsSync(process.env.INIT_CWD) ? process.env.INIT_CWD : root;

function step(message) {
  console.log(`zavhoz start: ${message}`);
}

function runOrExit(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function onPath(command) {
  return (process.env.PATH ?? '').split(path.delimiter).some((folder) => folder && fs.existsSync(path.join(folder, command)));
}

step('building');
runOrExit(process.execPath, ['scripts/build.mjs']);
step('starting the daemon');
runOrExit(process.execPath, ['dist/cli.cjs', 'daemon', 'start']);

if (onPath('code') && !process.env.ZAVHOZ_USE_CODE_SERVER) {
  step(`opening VS Code on ${workspace} with the extension from ${root}`);
  runOrExit('code', [`--extensionDevelopmentPath=${root}`, workspace]);
  process.exit(0);
}

step('desktop VS Code not found: using code-server (set up once in .test-tools/)');
runOrExit(process.execPath, ['scripts/e2e-tools.mjs']);
const { installExtension, packageExtension, prepareFolders, startCodeServer } = await import('../test/e2e/codeServer.ts');
// A profile that persists between runs, so settings and opened editors survive a restart.
const profile = path.join(root, '.test-tools', 'start');
fs.mkdirSync(profile, { recursive: true, mode: 0o700 });
const folders = prepareFolders(profile);
step('packaging and installing the extension');
const vsix = await packageExtension(profile);
await installExtension(folders, vsix, process.env);
const server = await startCodeServer(folders, workspace, process.env);
console.log(`\nZavhoz is running in code-server: ${server.url}/?folder=${encodeURIComponent(workspace)}\nPress Ctrl+C to stop.`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
// Keep running while code-server does.
await new Promise((resolve) => server.process.once('exit', resolve));

