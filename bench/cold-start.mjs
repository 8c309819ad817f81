// @ts-check
// One cold start as a whole command, for timing from outside (`/usr/bin/time -v`, hyperfine and the like) and for
// comparing the daemon with a bare Node server started the same way:
//
//   node bench/cold-start.mjs daemon [TEMPLATE_FOLDER]   spawn dist/daemon.cjs on a fresh data folder (a copy of
//                                                        TEMPLATE_FOLDER's files if given), wait for its ready line,
//                                                        connect, `initialize`, `daemon/status`
//   node bench/cold-start.mjs echo                       spawn bench/echo-server.mjs, wait for "ready", connect, one
//                                                        answered line
//
// It prints `spawn→answer <ms>` (its own clock, from just before the spawn to the last answer) and then stops the
// child: SIGKILL by default, so that a shutdown is not in the figure; SIGTERM (a clean shutdown, which also writes
// the V8 code cache a first start leaves behind) with `--clean` or when no code cache exists yet. Options for
// looking closer: `--profile FOLDER` has the server write a CPU profile there (`node --cpu-prof`; implies `--clean`),
// `--node-flag F` (repeatable) passes F to the server's node, `--stderr` shows the daemon's stderr, and `--dist
// FOLDER` runs the daemon bundle in FOLDER instead of dist/ (an unminified build, say). Plain JavaScript, no tsx: the
// driver's own start is the same small constant in both commands. Run `node scripts/build.mjs` first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;
const root = path.resolve(here, '..');
const options = process.argv.slice(2);
const profileFolder = options.includes('--profile') ? options.splice(options.indexOf('--profile'), 2)[1] : undefined;
/** The folder holding daemon.cjs and its bundle (`--dist FOLDER`, e.g. an unminified build to profile). */
const dist = options.includes('--dist') ? path.resolve(options.splice(options.indexOf('--dist'), 2)[1] ?? '') : path.join(root, 'dist');
/** Node's own flags for the server: `--node-flag F` (repeatable), and a CPU profile (`--profile FOLDER`, sampled every 250 µs). */
const nodeFlags = profileFolder ? ['--cpu-prof', '--cpu-prof-dir', profileFolder, '--cpu-prof-interval', '250'] : [];
while (options.includes('--node-flag')) nodeFlags.push(options.splice(options.indexOf('--node-flag'), 2)[1] ?? '');
const [mode, template] = options.filter((argument) => !argument.startsWith('--'));
// A CPU profile is written at a clean exit only.
const clean = options.includes('--clean') || profileFolder !== undefined || (mode === 'daemon' && !hasCodeCache());

/** Whether the daemon's bundle has a V8 code cache yet (daemon/core/codeCache.ts writes it beside the bundle). */
function hasCodeCache() {
  try {
    return fs.readdirSync(path.join(dist, '.v8-cache')).some((name) => name.startsWith('daemon-app--'));
  } catch {
    return false;
  }
}

/** Resolves once `child` has printed `line` on its stdout; rejects if it exits first. */
function waitForLine(child, line) {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errors = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk) => (errors = (errors + chunk).slice(-2000)));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      seen += chunk;
      if (seen.includes(line)) resolve(undefined);
    });
    child.once('exit', (code) => reject(new Error(`the server exited with code ${code} before it was ready: ${errors.trim()}`)));
  });
}

/** Connects to a Unix socket. */
function connect(socketPath) {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A minimal JSON-RPC client with the daemon's framing (Content-Length headers), one request at a time. */
function framedClient(socket) {
  let pending = Buffer.alloc(0);
  let waiter;
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const headerEnd = pending.indexOf('\r\n\r\n');
      if (headerEnd === -1) return;
      const length = Number(/Content-Length: *(\d+)/i.exec(pending.subarray(0, headerEnd).toString('ascii'))?.[1]);
      if (pending.length < headerEnd + 4 + length) return;
      const body = JSON.parse(pending.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8'));
      pending = pending.subarray(headerEnd + 4 + length);
      if (body.id !== undefined && waiter) waiter(body);
    }
  });
  let nextId = 1;
  return {
    request(method, params) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiter = (body) => {
          if (body.id !== id) return;
          if (body.error) reject(new Error(`${method}: ${body.error.message}`));
          else resolve(body.result);
        };
        const json = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method, params }), 'utf8');
        socket.write(Buffer.concat([Buffer.from(`Content-Length: ${json.length}\r\n\r\n`, 'ascii'), json]));
      });
    },
  };
}

/** Stops `child` and waits for it to exit. */
function stop(child, signal) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    child.once('exit', () => resolve(undefined));
    child.kill(signal);
  });
}

/** The daemon: spawn → ready line → connect → initialize → daemon/status. */
async function daemon(home) {
  if (template) for (const name of fs.readdirSync(template)) fs.copyFileSync(path.join(template, name), path.join(home, name));
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...nodeFlags, path.join(dist, 'daemon.cjs')], {
    // `--stderr` shows what the daemon writes there (a failing start explains itself on stderr too).
    stdio: ['ignore', 'pipe', options.includes('--stderr') ? 'inherit' : 'pipe'],
    env: { ...process.env, ZAVHOZ_HOME: home },
  });
  try {
    await waitForLine(child, 'zavhoz-daemon-ready');
    const socket = await connect(path.join(home, 'daemon.sock'));
    const client = framedClient(socket);
    const token = fs.readFileSync(path.join(home, 'daemon.token'), 'utf8').trim();
    await client.request('initialize', { protocolVersion, clientName: 'bench', token });
    await client.request('daemon/status', {});
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    socket.destroy();
    return elapsed;
  } finally {
    await stop(child, clean ? 'SIGTERM' : 'SIGKILL');
  }
}

/** The bare Node server: spawn → "ready" → connect → one answered line. */
async function echo(home) {
  const socketPath = path.join(home, 'echo.sock');
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...nodeFlags, path.join(here, 'echo-server.mjs'), socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitForLine(child, 'ready');
    const socket = await connect(socketPath);
    await new Promise((resolve) => {
      socket.once('data', resolve);
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'daemon/status', params: {} })}\n`);
    });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    socket.destroy();
    return elapsed;
  } finally {
    await stop(child, clean ? 'SIGTERM' : 'SIGKILL');
  }
}

// The protocol version the daemon expects, read before the clock starts (the daemon refuses any other).
const protocolVersion = Number(/PROTOCOL_VERSION = (\d+)/.exec(fs.readFileSync(path.join(root, 'daemon', 'protocol', 'lifecycle.ts'), 'utf8'))?.[1]);
if (mode !== 'daemon' && mode !== 'echo') {
  process.stderr.write('usage: node bench/cold-start.mjs daemon [TEMPLATE_FOLDER] | echo  [--clean] [--profile FOLDER] [--node-flag F] [--stderr] [--dist FOLDER]\n');
  process.exit(2);
}
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-cold-start-'));
fs.chmodSync(home, 0o700);
try {
  const elapsed = mode === 'daemon' ? await daemon(home) : await echo(home);
  process.stdout.write(`${mode} spawn→answer ${elapsed.toFixed(1)}\n`);
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}
