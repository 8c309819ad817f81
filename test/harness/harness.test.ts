/**
 * Self-tests of the test harnesses: a real gnome-keyring reached through @napi-rs/keyring, and a real sshd
 * reached through the ssh client and the ssh2 library.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { Client } from 'ssh2';
import { startKeyring } from './keyring.js';
import { portAcceptsConnections, sshArgs, startSshd, type SshdServer } from './sshd.js';

const execFileAsync = promisify(execFile);

/** Absolute path of the library, so the child script does not depend on its working folder. */
const keyringLibrary = createRequire(import.meta.url).resolve('@napi-rs/keyring');

/**
 * Runs in a separate Node process because the library connects to the bus named by that process's
 * DBUS_SESSION_BUS_ADDRESS. Prints one JSON line: {ok:true,value} or {ok:false,error}.
 */
const keyringScript = `
const { Entry } = require(process.argv[1]);
const [operation, service, account, password] = process.argv.slice(2);
try {
  const entry = new Entry(service, account);
  const value = operation === 'set' ? (entry.setPassword(password), null) : entry.getPassword();
  console.log(JSON.stringify({ ok: true, value }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error && error.message || error) }));
}
`;

type KeyringResult = { ok: true; value: string | null } | { ok: false; error: string };

/** Runs one keychain operation in a child process with the session's environment. */
async function keyringCall(env: NodeJS.ProcessEnv, operation: 'set' | 'get', password = ''): Promise<KeyringResult> {
  const { stdout } = await execFileAsync(process.execPath,
    ['-e', keyringScript, keyringLibrary, operation, 'zavhoz', 'x', password],
    { env, timeout: 20_000 });
  return JSON.parse(stdout.trim()) as KeyringResult;
}

test('keyring: set/get works, is refused while locked, and works again after unlock', { timeout: 60_000 }, async (t) => {
  const session = await startKeyring();
  t.after(() => session.stop());

  assert.deepEqual(await keyringCall(session.env, 'set', 'first-secret'), { ok: true, value: null });
  assert.deepEqual(await keyringCall(session.env, 'get'), { ok: true, value: 'first-secret' });
  assert.ok(existsSync(`${session.home}/.local/share/keyrings/login.keyring`), 'the keyring file lives in the throwaway HOME');

  await session.lock();
  const lockedGet = await keyringCall(session.env, 'get');
  assert.equal(lockedGet.ok, false, `get on a locked keychain must fail, got ${JSON.stringify(lockedGet)}`);
  const lockedSet = await keyringCall(session.env, 'set', 'while-locked');
  assert.equal(lockedSet.ok, false, `set on a locked keychain must fail, got ${JSON.stringify(lockedSet)}`);

  await session.unlock();
  assert.deepEqual(await keyringCall(session.env, 'get'), { ok: true, value: 'first-secret' });
  assert.deepEqual(await keyringCall(session.env, 'set', 'second-secret'), { ok: true, value: null });
  assert.deepEqual(await keyringCall(session.env, 'get'), { ok: true, value: 'second-secret' });

  // A second lock/unlock cycle: the harness must be reusable within one test.
  await session.lock();
  assert.equal((await keyringCall(session.env, 'get')).ok, false);
  await session.unlock();
  assert.deepEqual(await keyringCall(session.env, 'get'), { ok: true, value: 'second-secret' });

  await session.stop();
  assert.equal(existsSync(session.home), false, 'stop() removes HOME');
});

/** Execs `command` over ssh2 and returns its stdout. */
function execWithSsh2(server: SshdServer, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.on('ready', () => {
      client.exec(command, (error, channel) => {
        if (error) {
          client.end();
          reject(error);
          return;
        }
        let output = '';
        channel.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
        });
        channel.stderr.on('data', () => undefined);
        channel.on('close', () => {
          client.end();
          resolve(output);
        });
      });
    });
    client.connect({
      host: server.host,
      port: server.port,
      username: server.user,
      privateKey: server.clientKey.privateKeyPem,
      readyTimeout: 10_000,
    });
  });
}

/** True while a `sleep <marker>` process exists, read from /proc. */
function sleepRunning(marker: string): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === `sleep\0${marker}\0`) return true;
    } catch {
      // The process ended while listing.
    }
  }
  return false;
}

/** Polls `condition` every 50 ms until it holds, or throws after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Asserts that the remote `sleep MARKER` is gone, or goes within a few seconds: it was sent SIGKILL, but the client's
 * ssh can see its connection drop before a loaded machine has scheduled the killed process to die (CI, load 12: the
 * process was still listed the moment the client exited).
 */
async function sessionGone(marker: string, message: string): Promise<void> {
  await waitFor(() => !sleepRunning(marker), 5_000).catch(() => assert.fail(`${message}: sleep ${marker} still runs 5 s later`));
}

test('sshd: ssh and ssh2 log in with the client key; stop() closes the port', { timeout: 60_000 }, async (t) => {
  const server = await startSshd();
  t.after(() => server.stop());

  assert.match(server.host, /^127\.\d+\.\d+\.\d+$/);
  assert.notEqual(server.host, '127.0.0.1', 'every test sshd is a host of its own');
  assert.match(server.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.match(server.clientKey.privateKeyPem, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
  assert.match(server.clientKey.publicKey, /^ssh-ed25519 /);

  const { stdout } = await execFileAsync('ssh', [...sshArgs(server), `${server.user}@${server.host}`, 'echo', 'hello'], { timeout: 20_000 });
  assert.equal(stdout, 'hello\n');

  const meminfo = await execWithSsh2(server, 'cat /proc/meminfo | head -1');
  assert.match(meminfo, /^MemTotal:\s+\d+ kB\n$/);

  // A session still running at stop() must end too (sshd's session processes call setsid()).
  const marker = String(3_000 + Math.floor(Math.random() * 1_000));
  const hanging = spawn('ssh', [...sshArgs(server), `${server.user}@${server.host}`, 'sleep', marker], { stdio: 'ignore' });
  const hangingExit = new Promise<void>((resolve) => hanging.once('exit', () => resolve()));
  t.after(() => {
    hanging.kill('SIGKILL');
  });
  await waitFor(() => sleepRunning(marker), 10_000);

  await server.stop();
  await hangingExit;
  await sessionGone(marker, 'the remote session ended with the server');
  assert.equal(await portAcceptsConnections(server.host, server.port), false, 'the port is closed after stop()');
  assert.equal(existsSync(server.dir), false, 'stop() removes the folder');
});

test('sshd: powerOff() drops sessions and refuses logins; powerOn() answers again with the same host key; stop() ends the new one', { timeout: 60_000 }, async (t) => {
  const server = await startSshd();
  t.after(() => server.stop());
  const marker = String(4_000 + Math.floor(Math.random() * 1_000));
  const hanging = spawn('ssh', [...sshArgs(server), `${server.user}@${server.host}`, 'sleep', marker], { stdio: 'ignore' });
  const hangingExit = new Promise<void>((resolve) => hanging.once('exit', () => resolve()));
  t.after(() => {
    hanging.kill('SIGKILL');
  });
  await waitFor(() => sleepRunning(marker), 10_000);

  await server.powerOff();
  await hangingExit;
  await sessionGone(marker, 'the session died with the machine');
  assert.equal(await portAcceptsConnections(server.host, server.port), false, 'nothing answers while it is off');

  await server.powerOn();
  const { stdout } = await execFileAsync('ssh-keyscan', ['-p', String(server.port), '-t', 'ed25519', server.host], { timeout: 20_000 });
  const scanned = stdout.split('\n').find((line) => line.includes('ssh-ed25519'))?.split(' ')[2];
  assert.equal(scanned, readFileSync(`${server.dir}/host_key.pub`, 'utf8').split(' ')[1], 'the same host key');
  const { stdout: hello } = await execFileAsync('ssh', [...sshArgs(server), `${server.user}@${server.host}`, 'echo', 'hello'], { timeout: 20_000 });
  assert.equal(hello, 'hello\n');

  await server.stop();
  assert.equal(await portAcceptsConnections(server.host, server.port), false, 'stop() ends the sshd that powerOn() started');
});
