/**
 * The request through the proxy that the daemon's proxy check (daemon/proxy/remote.ts) and the deploy's health check
 * through the proxy (playbooks/proxy_switch_finish.yml) send on the server, run here with the real `sh`, curl and
 * python3 against HTTPS servers on loopback: a server without curl gets the same request from python3 (TLS to
 * 127.0.0.1 with the domain as SNI and Host, any certificate), failures read as curl's would, and only a server with
 * neither tool is left unchecked.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { HTTPS_STATUS, parseOutcome } from '../../daemon/proxy/remote.js';
import { ROOT } from '../harness/daemon.js';

/** What a script run printed and how it ended. */
interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runScript(script: string, args: readonly string[], pathVariable: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', script, 'zavhoz', ...args], { env: { PATH: pathVariable }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A folder holding links to `tools` (absolute paths) only: the PATH of a server that has those and nothing else. The
 * system's python3, as Ansible finds it on a server (a version manager's shim on this machine's PATH needs bash).
 */
function binWith(root: string, name: string, tools: readonly string[]): string {
  const folder = path.join(root, name);
  fs.mkdirSync(folder);
  for (const tool of tools) fs.symlinkSync(tool, path.join(folder, path.basename(tool)));
  return folder;
}

/** The script of the playbook's health check through the proxy (its `sh -c` argument). */
function playbookCheckScript(): string {
  const tasks = parse(fs.readFileSync(path.join(ROOT, 'playbooks/proxy_switch_finish.yml'), 'utf8')) as { name: string; 'ansible.builtin.command'?: { argv: string[] } }[];
  const task = tasks.find((entry) => entry.name === 'Health check through the proxy over HTTPS');
  const script = task?.['ansible.builtin.command']?.argv[2];
  assert.ok(script, 'the playbook has its health check through the proxy');
  return script;
}

describe('the HTTPS request through the proxy, with curl, with python3 only, with neither', () => {
  let root: string;
  let server: https.Server;
  let port = 0;
  let garbage: net.Server;
  let garbagePort = 0;
  const garbageSockets = new Set<net.Socket>();
  let closedPort = 0;
  /** SNI name, Host header and path of each request the HTTPS server got. */
  const seen: string[] = [];
  let withPython = '';
  let withNeither = '';
  const functionScript = [...HTTPS_STATUS, 'https_status "$@"'].join('\n');

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-https-status-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(root, 'key.pem'), '-out', path.join(root, 'cert.pem'), '-days', '1', '-subj', '/CN=other.invalid',
    ], { stdio: 'ignore' });
    server = https.createServer({ key: fs.readFileSync(path.join(root, 'key.pem')), cert: fs.readFileSync(path.join(root, 'cert.pem')) }, (request, response) => {
      const servername = 'servername' in request.socket ? request.socket.servername : undefined;
      seen.push(`${String(servername)} ${request.headers.host ?? ''} ${request.url ?? ''}`);
      response.statusCode = request.url === '/missing' ? 404 : 204;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    // Speaks no TLS: the handshake fails, as with a proxy that has no certificate for the name.
    garbage = net.createServer((socket) => {
      garbageSockets.add(socket);
      socket.on('close', () => garbageSockets.delete(socket));
      // The client gives up on the handshake and resets the connection.
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    garbagePort = (garbage.address() as net.AddressInfo).port;
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    withPython = binWith(root, 'python-only', ['/usr/bin/python3']);
    withNeither = binWith(root, 'neither', ['/bin/true']);
  });
  after(async () => {
    // Connections the scripts left open (keep-alive, a reset handshake) would hold close() back.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of garbageSockets) socket.destroy();
    await new Promise<void>((resolve) => garbage.close(() => resolve()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('the proxy check: python3 sends the request curl sends (SNI and Host of the domain, any certificate) and prints the status', async () => {
    const systemPath = process.env.PATH ?? '/usr/bin:/bin';
    seen.length = 0;
    const byCurl = await runScript(functionScript, ['shop.example.test', String(port), '/', '3'], systemPath);
    const byPython = await runScript(functionScript, ['shop.example.test', String(port), '/', '3'], withPython);
    assert.deepEqual([byCurl.code, byCurl.stdout], [0, '204'], byCurl.stderr);
    assert.deepEqual([byPython.code, byPython.stdout], [0, '204'], byPython.stderr);
    assert.deepEqual(seen, [`shop.example.test shop.example.test:${String(port)} /`, `shop.example.test shop.example.test:${String(port)} /`]);
  });

  test("the proxy check: python3's failures carry curl's exit codes, and the daemon reads them as curl's", async () => {
    const refused = await runScript(functionScript, ['shop.example.test', String(closedPort), '/', '3'], withPython);
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /^python3: ConnectionRefusedError: /);
    const probe = parseOutcome(`ZAVHOZ_PROXY running\nZAVHOZ_PROXY_NOT_SERVING ${String(refused.code)} ${refused.stderr}\n`).probe;
    assert.equal(probe?.serves, false);
    assert.match(probe.why, /^python3: ConnectionRefusedError: .* \(python3 exit 7\)$/);

    const handshake = await runScript(functionScript, ['shop.example.test', String(garbagePort), '/', '3'], withPython);
    assert.equal(handshake.code, 35, handshake.stderr);
    assert.match(handshake.stderr, /^python3: SSLError: /);
    const byCurl = await runScript(functionScript, ['shop.example.test', String(garbagePort), '/', '3'], process.env.PATH ?? '/usr/bin:/bin');
    assert.equal(byCurl.code, 35, `curl gives the same code: ${byCurl.stderr}`);
  });

  test("the deploy's check through the proxy: python3 where curl is missing, a module's error status fails it, neither tool leaves it unchecked", async () => {
    const script = playbookCheckScript();
    seen.length = 0;
    const healthy = await runScript(script, ['shop.example.test', String(port), '/health', '400'], withPython);
    assert.deepEqual([healthy.code, healthy.stdout.trim()], [0, '204'], healthy.stderr);
    assert.deepEqual(seen, [`shop.example.test shop.example.test:${String(port)} /health`]);
    const failing = await runScript(script, ['shop.example.test', String(port), '/missing', '400'], withPython);
    assert.deepEqual([failing.code, failing.stdout.trim()], [1, '404']);
    const refused = await runScript(script, ['shop.example.test', String(closedPort), '/', '400'], withPython);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /python3: ConnectionRefusedError/);
    const sameWithCurl = await runScript(script, ['shop.example.test', String(port), '/missing', '400'], process.env.PATH ?? '/usr/bin:/bin');
    assert.deepEqual([sameWithCurl.code, sameWithCurl.stdout.trim()], [1, '404']);

    const unchecked = await runScript(script, ['shop.example.test', String(port), '/', '400'], withNeither);
    assert.deepEqual([unchecked.code, unchecked.stdout.trim()], [0, 'neither curl nor python3 on the server: not checked through the proxy']);
  });
});
