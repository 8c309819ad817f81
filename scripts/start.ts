// `npm start`: build, start the daemon with its embedded defaults, and open VS Code with the extension.
// Desktop VS Code (`code` on PATH) gets `--extensionDevelopmentPath`; without it, the code-server of the end-to-end
// suite (installed once into .test-tools/) serves the packaged extension and this prints its local URL.
// TypeScript, type-checked by `tsc -b` (scripts/tsconfig.json), so a change to a helper it shares with the e2e suite
// fails the build instead of a newcomer's first command. package.json runs it with `node --import tsx`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { codeServerFolders, installExtension, packageExtension, prepareFolders, startCodeServer, type CodeServer } from '../test/e2e/codeServer.js';
import { canListen, claimProfile, parsePort, recordServer, releaseProfile } from './startInstance.js';

const root = path.resolve(import.meta.dirname, '..');
// npm sets INIT_CWD to the folder `npm start` was typed in: that is the workspace to open.
const initialFolder = process.env['INIT_CWD'];
const workspace = initialFolder !== undefined && existsSync(initialFolder) ? initialFolder : root;

function step(message: string): void {
  console.log(`zavhoz start: ${message}`);
}

/** Prints what went wrong and what to do, then exits with `code`. */
function fail(message: string, code = 1): never {
  console.error(`zavhoz start: ${message}`);
  process.exit(code);
}

function runOrExit(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((folder) => folder !== '' && existsSync(path.join(folder, command)));
}

function buildAndStartDaemon(): void {
  step('building');
  runOrExit(process.execPath, ['scripts/build.mjs']);
  step('starting the daemon');
  runOrExit(process.execPath, ['dist/cli.cjs', 'daemon', 'start']);
}

if (onPath('code') && process.env['ZAVHOZ_USE_CODE_SERVER'] === undefined) {
  buildAndStartDaemon();
  step(`opening VS Code on ${workspace} with the extension from ${root}`);
  runOrExit('code', [`--extensionDevelopmentPath=${root}`, workspace]);
  process.exit(0);
}

// A profile that persists between runs, so settings and opened editors survive a restart.
const profile = process.env['ZAVHOZ_START_PROFILE'] ?? path.join(root, '.test-tools', 'start');
mkdirSync(profile, { recursive: true, mode: 0o700 });

let port: number | undefined;
const requestedPort = process.env['ZAVHOZ_START_PORT'];
if (requestedPort !== undefined && requestedPort !== '') {
  port = parsePort(requestedPort);
  if (port === undefined) fail(`ZAVHOZ_START_PORT=${requestedPort} is not a port number: use a number from 1024 to 65535, or unset it for a free port.`, 2);
}

const holder = await claimProfile(profile, workspace);
if (holder !== undefined) {
  if (holder.server === undefined) {
    console.log(`Another npm start (pid ${holder.pid}) is starting code-server on ${holder.workspace}: its URL follows in its terminal.`);
  } else {
    console.log(`Zavhoz is already running in code-server: ${holder.server.url}/?folder=${encodeURIComponent(holder.workspace)}`);
  }
  console.log(`It was started by npm start (pid ${holder.pid}); stop it with Ctrl+C in its terminal, or: kill -INT ${holder.pid}`);
  process.exit(0);
}
// Whatever way this process ends, the profile is free again.
process.on('exit', () => releaseProfile(profile));

let server: CodeServer | undefined = undefined;
// `as boolean`: the signal handlers set it while the start-up below awaits, out of the checker's narrowing.
let stopping = false as boolean;
/** Stops code-server if it runs (or as soon as it has started), then exits. */
async function stop(exitCode: number): Promise<void> {
  // A terminal's Ctrl+C reaches npm and this process both, and npm forwards it again: stop once.
  if (stopping) return;
  stopping = true;
  if (server === undefined) return; // Still starting: the start-up below sees `stopping` and stops what it started.
  step('stopping code-server');
  await server.stop();
  process.exit(exitCode);
}
// Installed before anything is started, so a Ctrl+C while code-server boots cannot leave it behind (it runs
// detached, in a process group of its own, out of the terminal's reach).
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGHUP', () => void stop(0));

// Checked before the minute of packaging, so a busy port is said at once.
if (port !== undefined && !(await canListen(port))) {
  fail(`port ${port} (ZAVHOZ_START_PORT) is in use by another program: choose another port, or unset ZAVHOZ_START_PORT for a free one.`);
}

buildAndStartDaemon();
step('desktop VS Code not found: using code-server (set up once in .test-tools/)');
runOrExit(process.execPath, ['scripts/e2e-tools.mjs']);
const folders = codeServerFolders(profile);
prepareFolders(folders);
step('packaging and installing the extension');
try {
  await installExtension(folders, await packageExtension(profile), process.env);
} catch (error) {
  // Ctrl+C reaches the packaging tools too (same terminal group): that is a stop, not a failure to report.
  if (stopping) process.exit(0);
  fail(`packaging or installing the extension failed: ${error instanceof Error ? error.message : String(error)}`);
}
if (stopping) process.exit(0);
const started = await startCodeServer(folders, workspace, process.env, port === undefined ? {} : { port }).catch((error: unknown) =>
  fail(`code-server did not start: ${error instanceof Error ? error.message : String(error)}`),
);
server = started;
// eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a signal may have come while code-server started
if (stopping) {
  stopping = false;
  await stop(0);
}
recordServer(profile, { pid: process.pid, workspace, server: { pid: started.process.pid ?? 0, url: started.url } });
console.log(`\nZavhoz is running in code-server: ${started.url}/?folder=${encodeURIComponent(workspace)}\nPress Ctrl+C to stop.`);
started.process.once('exit', (code, signal) => {
  if (stopping) return;
  console.error(`zavhoz start: code-server exited (${signal ?? `code ${String(code)}`}); its log: ${folders.logFile}`);
  void stop(1);
});
