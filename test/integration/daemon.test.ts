import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import { EXIT_ALREADY_RUNNING } from '../../daemon/core/startup.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { DaemonLog, DaemonLogSubscribe, DaemonPing, DaemonStatus, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../daemon/protocol/lifecycle.js';
import { type Settings, SettingsDidChange, SettingsGet, SettingsSet } from '../../daemon/protocol/settings.js';
import { DaemonClient } from '../../daemon/client/client.js';
import { DAEMON_SCRIPT, type TestDaemon, runCli, startTestDaemon } from '../harness/daemon.js';
import { RawSocket } from '../harness/rawSocket.js';
import { waitUntil } from '../harness/processes.js';
import { escapeRegExp } from '../harness/text.js';

/** Runs the daemon script directly and reports how it exited. */
function runDaemonProcess(home: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DAEMON_SCRIPT], { env: { ...process.env, ZAVHOZ_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('ready')) resolve({ code: null, stderr });
    });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

/** A daemon process this test started itself, so that it can see how the process ends. */
interface OwnDaemon {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the daemon script as a direct child and resolves once it is ready. */
async function startOwnDaemon(home: string): Promise<OwnDaemon> {
  const child = spawn(process.execPath, [DAEMON_SCRIPT], { env: { ...process.env, ZAVHOZ_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('ready')) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`the daemon exited with ${code} while starting: ${stderr}`)));
  });
  return { child, exited };
}

/** Pids of the daemon processes (starting, running or exiting) serving `home`, found through /proc. */
function daemonProcessesFor(home: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // exited, not yet reaped
      if (!fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(DAEMON_SCRIPT)) continue;
      if (fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`ZAVHOZ_HOME=${home}`)) pids.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

/** Polls until `condition` holds; throws (rather than hang the suite) if it never does. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 60_000) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once every writer of a burst has had a write acknowledged. */
async function everyWriterAcknowledged(acknowledged: readonly number[]): Promise<void> {
  while (acknowledged.some((count) => count === 0)) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Three clients writing three settings as fast as the daemon acknowledges, until `stopped()` or a request fails
 * (the daemon died or refused): `acknowledged[i]` is the last value writer i had acknowledged.
 */
function writeBurst(writers: readonly DaemonClient[], stopped: () => boolean): { readonly acknowledged: number[]; readonly done: Promise<void> } {
  const acknowledged = writers.map(() => 0);
  const loops = writers.map(async (client, index) => {
    for (let value = 1; !stopped(); value++) {
      try {
        if (index === 0) await client.request(SettingsSet, { key: 'syncIntervalSeconds', value });
        else if (index === 1) await client.request(SettingsSet, { key: 'healthCheckIntervalSeconds', value });
        else await client.request(SettingsSet, { key: 'agentDeployProjects', value: [`p${value}`] });
        acknowledged[index] = value;
      } catch {
        return; // the daemon died or refused mid-request: this one was never acknowledged
      }
    }
  });
  return { acknowledged, done: Promise.all(loops).then(() => undefined) };
}

/** Every acknowledged write of a burst is stored; at most the one in flight when it was cut off may also be. */
function assertBurstStored(settings: Settings, acknowledged: readonly number[], round: number): void {
  const stored = [settings.syncIntervalSeconds, settings.healthCheckIntervalSeconds, Number(settings.agentDeployProjects[0]?.slice(1) ?? 0)];
  for (let index = 0; index < 3; index++) {
    assert.ok(stored[index]! >= acknowledged[index]! && stored[index]! <= acknowledged[index]! + 1, `round ${round} writer ${index}: stored ${stored[index]} acknowledged ${acknowledged[index]}`);
  }
}

/** Resolves once the lock file is gone: a daemon releases it as the last thing before it exits. */
async function lockReleased(home: string): Promise<void> {
  const { lock } = dataPaths(home);
  for (let waited = 0; fs.existsSync(lock); waited += 25) {
    if (waited > 20_000) throw new Error(`${lock} is still there`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('daemon process', () => {
  let daemon: TestDaemon;

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon.dispose();
  });

  test('the data folder is private: folder 0700, every file 0600', () => {
    const { folder } = dataPaths(daemon.home);
    assert.equal(fs.statSync(folder).mode & 0o777, 0o700);
    for (const name of fs.readdirSync(folder)) {
      const stat = fs.statSync(path.join(folder, name));
      if (stat.isFile() || stat.isSocket()) assert.equal(stat.mode & 0o777, 0o600, name);
    }
  });

  test('daemon status over the CLI reports pid, versions, folder, uptime and clients', async () => {
    const result = await daemon.cli(['daemon', 'status', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout) as { pid: number; protocolVersion: number; dataFolder: string; clients: { name: string }[] };
    assert.equal(status.pid, daemon.pid());
    assert.equal(status.protocolVersion, PROTOCOL_VERSION);
    assert.equal(status.dataFolder, daemon.home);
    assert.ok(status.clients.some((client) => client.name === 'cli'));
  });

  test('a second daemon on the same folder does not become a second writer', async () => {
    const pid = daemon.pid();
    const second = await runDaemonProcess(daemon.home);
    assert.equal(second.code, EXIT_ALREADY_RUNNING);
    assert.match(second.stderr, new RegExp(`already running .*pid ${pid}`));
    assert.equal(daemon.pid(), pid);
    const client = await daemon.connect();
    assert.equal((await client.request(DaemonStatus, {})).pid, pid);
    client.close();
  });

  test('a wrong or missing token is refused before any method runs', async () => {
    const { socket } = dataPaths(daemon.home);
    const early = await RawSocket.open(socket);
    const refused = await early.request(1, 'settings/set', { key: 'syncIntervalSeconds', value: 5 });
    assert.equal(refused.error?.code, ErrorCodes.NotInitialized);
    const wrong = await early.request(2, 'initialize', { protocolVersion: 1, clientName: 'raw', token: 'f'.repeat(64) });
    assert.equal(wrong.error?.code, ErrorCodes.Unauthorized);
    assert.ok(await early.closed(), 'the daemon hangs up on a wrong token');

    const missing = await RawSocket.open(socket);
    const none = await missing.request(1, 'initialize', { protocolVersion: 1, clientName: 'raw' });
    assert.equal(none.error?.code, ErrorCodes.InvalidParams);
    missing.destroy();

    const client = await daemon.connect();
    assert.notEqual((await client.request(SettingsGet, {})).syncIntervalSeconds, 5, 'the refused write did not happen');
    client.close();
  });

  test('a protocol version mismatch is a clear error', async () => {
    const raw = await RawSocket.open(dataPaths(daemon.home).socket);
    const answer = await raw.initialize(dataPaths(daemon.home).token, 99);
    assert.equal(answer.error?.code, ErrorCodes.ProtocolMismatch);
    assert.match(answer.error.message, new RegExp(`client speaks 99, this daemon speaks ${PROTOCOL_VERSION}`));
    raw.destroy();
  });

  test('malformed input of every kind gets a clear error and the daemon keeps serving', async () => {
    const paths = dataPaths(daemon.home);
    const bystander = await daemon.connect('bystander');

    const raw = await RawSocket.open(paths.socket);
    assert.equal((await raw.initialize(paths.token)).error, undefined);
    raw.writeFrame('{"jsonrpc":"2.0","id":5,"method":');
    assert.equal((await raw.next()).error?.code, ErrorCodes.ParseError);
    raw.writeFrame('[1,2,3]');
    assert.equal((await raw.next()).error?.code, ErrorCodes.InvalidRequest);
    raw.writeFrame('{"id":6,"method":"daemon/ping"}');
    const noVersion = await raw.next();
    assert.equal(noVersion.error?.code, ErrorCodes.InvalidRequest);
    assert.equal(noVersion.id, 6);
    assert.equal((await raw.request(7, 'no/suchMethod', {})).error?.code, ErrorCodes.MethodNotFound);
    const wrongType = await raw.request(8, 'settings/set', { key: 'syncIntervalSeconds', value: 'soon' });
    assert.equal(wrongType.error?.code, ErrorCodes.InvalidInput);
    const wrongKey = await raw.request(9, 'settings/set', { key: 'nope', value: 1 });
    assert.equal(wrongKey.error?.code, ErrorCodes.InvalidParams);
    const missingField = await raw.request(10, 'settings/set', { value: 1 });
    assert.equal(missingField.error?.code, ErrorCodes.InvalidParams);
    assert.match(missingField.error.message, /key/);
    assert.deepEqual((await raw.request(11, 'daemon/ping', { payload: 'still here' })).result, { payload: 'still here' });

    const oversized = await RawSocket.open(paths.socket);
    oversized.writeRaw(`Content-Length: ${MAX_MESSAGE_BYTES + 1}\r\n\r\n`);
    const tooLarge = await oversized.next();
    assert.equal(tooLarge.error?.code, ErrorCodes.MessageTooLarge);
    assert.ok(await oversized.closed());

    const unframed = await RawSocket.open(paths.socket);
    unframed.writeRaw('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await unframed.next()).error?.code, ErrorCodes.ParseError);
    assert.ok(await unframed.closed());

    const endless = await RawSocket.open(paths.socket);
    endless.writeRaw('X'.repeat(64 * 1024));
    assert.equal((await endless.next()).error?.code, ErrorCodes.ParseError);
    assert.ok(await endless.closed());

    // Everyone else was served throughout.
    assert.deepEqual(await bystander.request(DaemonPing, { payload: 'ok' }), { payload: 'ok' });
    raw.destroy();
    bystander.close();
  });

  test('two clients (and the CLI) see each other\'s changes through notifications', async () => {
    const first = await daemon.connect('first');
    const second = await daemon.connect('second');
    const heardBySecond = new Promise<string>((resolve) => second.onNotification(SettingsDidChange, (params) => resolve(params.key)));
    await first.request(SettingsSet, { key: 'healthCheckIntervalSeconds', value: 120 });
    assert.equal(await heardBySecond, 'healthCheckIntervalSeconds');
    assert.equal((await second.request(SettingsGet, {})).healthCheckIntervalSeconds, 120);

    const heardByFirst = new Promise<string>((resolve) => first.onNotification(SettingsDidChange, (params) => resolve(params.key)));
    const cli = await daemon.cli(['config', 'set', 'ghostServers', '["my-laptop"]']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(await heardByFirst, 'ghostServers');
    assert.deepEqual((await first.request(SettingsGet, {})).ghostServers, ['my-laptop']);
    first.close();
    second.close();
  });
});

describe('daemon log', () => {
  test('log lines are JSON with the client\'s request id, and stream to clients that subscribe', async () => {
    const daemon = await startTestDaemon();
    const watcher = await daemon.connect('watcher');
    const lines: string[] = [];
    watcher.onNotification(DaemonLog, (params) => lines.push(params.line));
    await watcher.request(DaemonLogSubscribe, { level: 'debug' });
    const actor = await daemon.connect('actor');
    await actor.request(SettingsSet, { key: 'syncIntervalSeconds', value: 90 }, { requestId: 'trace-me-123' });
    // The streamed line travels on the watcher's connection, which may deliver it after the actor's answer.
    const isTraced = (record: Record<string, unknown>): boolean => record.requestId === 'trace-me-123' && record.message === 'setting changed' && record.client === 'actor';
    await waitUntil('the traced line on the watcher\'s stream', () => (lines.some((line) => isTraced(JSON.parse(line) as Record<string, unknown>)) ? true : undefined), 10_000);
    const file = fs.readFileSync(dataPaths(daemon.home).log, 'utf8').trim().split('\n');
    assert.ok(file.every((line) => typeof (JSON.parse(line) as { time?: unknown }).time === 'string'), 'one JSON object a line');
    assert.ok(file.some((line) => line.includes('trace-me-123')));
    watcher.close();
    actor.close();
    await daemon.dispose();
  });
});

describe('daemon lifecycle', () => {
  test('SIGTERM and daemon stop exit cleanly, removing socket and token and releasing the lock', async () => {
    const daemon = await startTestDaemon();
    const paths = dataPaths(daemon.home);
    const client = await daemon.connect();
    await client.request(SettingsSet, { key: 'syncIntervalSeconds', value: 42 });
    const closed = new Promise<void>((resolve) => client.onClose(resolve));
    await daemon.stop();
    await closed;
    for (const file of [paths.socket, paths.token, paths.lock]) assert.equal(fs.existsSync(file), false, file);
    assert.equal(fs.statSync(paths.journal).size, 0, 'the journal was folded into the snapshot');

    await daemon.start();
    const stop = await daemon.cli(['daemon', 'stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(fs.existsSync(paths.lock), false);
    const status = await daemon.cli(['daemon', 'status']);
    assert.notEqual(status.code, 0);
    assert.match(status.stderr, /not running/);
    await daemon.start();
    const after = await daemon.connect();
    assert.equal((await after.request(SettingsGet, {})).syncIntervalSeconds, 42);
    after.close();
    await daemon.dispose();
  });

  test('a stale lock from a crashed daemon is taken over, by exactly one of several starters', async () => {
    const daemon = await startTestDaemon();
    const paths = dataPaths(daemon.home);
    await daemon.kill9();
    assert.ok(fs.existsSync(paths.lock), 'kill -9 leaves the lock behind');
    const starters = await Promise.all([1, 2, 3, 4].map(() => runDaemonProcess(daemon.home)));
    const winners = starters.filter((outcome) => outcome.code === null);
    assert.equal(winners.length, 1, JSON.stringify(starters));
    assert.ok(starters.every((outcome) => outcome.code === null || outcome.code === EXIT_ALREADY_RUNNING));
    const client = await daemon.connect();
    assert.equal((await client.request(DaemonStatus, {})).pid, daemon.pid());
    client.close();
    await daemon.dispose();
  });

  test('kill -9 in the middle of a burst of writes loses no acknowledged write (repeated)', async () => {
    const daemon = await startTestDaemon();
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const writers = await Promise.all(['a', 'b', 'c'].map((name) => daemon.connect(`writer-${name}`)));
      let stop = false;
      const { acknowledged, done } = writeBurst(writers, () => stop);
      // Every writer has a write of this round acknowledged (else the last round's value would still be there).
      await everyWriterAcknowledged(acknowledged);
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 120));
      await daemon.kill9();
      stop = true;
      await done;
      for (const client of writers) client.close();

      await daemon.start();
      const reader = await daemon.connect();
      const settings = await reader.request(SettingsGet, {});
      reader.close();
      assertBurstStored(settings, acknowledged, round);
      assert.ok(acknowledged.some((count) => count > 0), 'writes were acknowledged before the kill');
    }
    await daemon.dispose();
  });

  test('a stale lock whose pid now belongs to another program (a *-daemon) is taken over', async () => {
    const daemon = await startTestDaemon();
    const paths = dataPaths(daemon.home);
    await daemon.kill9();
    // Stands in for the program that got the dead daemon's pid: a live process with "daemon" in its command line.
    const impostor = spawn(process.execPath, ['-e', 'process.stdout.write("ready\\n"); setInterval(() => undefined, 1000)', 'dbus-daemon', '--session'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((resolve) => impostor.stdout.setEncoding('utf8').once('data', () => resolve()));
      const stale = JSON.parse(fs.readFileSync(paths.lock, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(paths.lock, JSON.stringify({ ...stale, pid: impostor.pid }), { mode: 0o600 });

      const started = await runDaemonProcess(daemon.home);
      assert.equal(started.code, null, started.stderr);
      const client = await daemon.connect();
      const status = await client.request(DaemonStatus, {});
      assert.notEqual(status.pid, impostor.pid);
      assert.equal(status.pid, daemon.pid());
      client.close();
    } finally {
      impostor.kill('SIGKILL');
    }
    await daemon.dispose();
  });

  test('the CLI starts the daemon on demand: after daemon stop, secret list and daemon start --json bring one up', async () => {
    const daemon = await startTestDaemon();
    const paths = dataPaths(daemon.home);
    const firstPid = daemon.pid();
    const stopped = await daemon.cli(['daemon', 'stop']);
    assert.equal(stopped.code, 0, stopped.stderr);

    // No waiting for the old daemon to finish: the CLI copes with one that is still on its way out.
    const listed = await daemon.cli(['secret', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), []);
    const secondPid = daemon.pid();
    assert.notEqual(secondPid, firstPid);
    const status = await daemon.cli(['daemon', 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { pid: number }).pid, secondPid);

    process.kill(secondPid, 'SIGTERM');
    await lockReleased(daemon.home);
    const started = await daemon.cli(['daemon', 'start', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const running = JSON.parse(started.stdout) as { pid: number; dataFolder: string; protocolVersion: number };
    assert.equal(running.pid, daemon.pid());
    assert.notEqual(running.pid, secondPid);
    assert.equal(running.dataFolder, daemon.home);
    assert.equal(running.protocolVersion, PROTOCOL_VERSION);
    const again = await daemon.cli(['daemon', 'start', '--json']);
    assert.equal((JSON.parse(again.stdout) as { pid: number }).pid, running.pid, 'a second start finds the running daemon');

    // The CLI's children outlive it and are reaped late, so their pid lingers: the lock tells when one is done.
    process.kill(running.pid, 'SIGTERM');
    await lockReleased(daemon.home);
    assert.equal(fs.existsSync(paths.socket), false);
    await daemon.dispose();
  });

  test('a client that finds a daemon on its way out (socket closed, lock still held) starts a new one once it is gone', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-test-'));
    const paths = dataPaths(home);
    // Stands in for a daemon between closing its socket and releasing the lock, as just after `daemon stop`.
    const watcher = fs.watch(home);
    const leaving = spawn(process.execPath, ['-e', 'process.stdout.write("ready\\n"); setInterval(() => undefined, 1000)', '/opt/zavhoz/daemon.cjs'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((resolve) => leaving.stdout.setEncoding('utf8').once('data', () => resolve()));
      fs.writeFileSync(paths.lock, JSON.stringify({ pid: leaving.pid, startedAt: new Date().toISOString() }), { mode: 0o600 });

      // The daemon the CLI starts tries the lock through a temporary file named with its pid (daemon.lock.PID.…tmp):
      // watched here, it names the starter however briefly it lives (polling /proc could miss a fast one).
      const lockName = escapeRegExp(path.basename(paths.lock));
      const tried = new Promise<number>((resolve) =>
        watcher.on('change', (_event, name) => {
          const match = new RegExp(`^${lockName}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`).exec(String(name));
          if (match) resolve(Number(match[1]));
        }),
      );
      const listing = runCli(['secret', 'list', '--json'], { ...process.env, ZAVHOZ_HOME: home });
      // The CLI's first start finds the folder taken and exits "already running"; then the old daemon finishes.
      const starter = await waitUntil('the CLI started a daemon that tried the lock', () => Promise.race([tried, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100))]));
      await until(() => !daemonProcessesFor(home).includes(starter), 'that daemon found the folder taken and exited');
      fs.rmSync(paths.lock);

      const listed = await listing;
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout), []);
      const owner = JSON.parse(fs.readFileSync(paths.lock, 'utf8')) as { pid: number };
      assert.notEqual(owner.pid, leaving.pid);
      assert.notEqual(owner.pid, starter);
      process.kill(owner.pid, 'SIGTERM');
      await lockReleased(home);
    } finally {
      watcher.close();
      leaving.kill('SIGKILL');
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  test('SIGTERM in the middle of a burst of writes exits 0, cleans up, and loses no acknowledged write (repeated)', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-test-'));
    const paths = dataPaths(home);
    const rounds = 6;
    for (let round = 0; round < rounds; round++) {
      const daemon = await startOwnDaemon(home);
      const writers = await Promise.all(['a', 'b', 'c'].map((name) => DaemonClient.connect({ folder: home, clientName: `writer-${name}` })));
      // No stop flag: the burst ends when the shutting-down daemon refuses or cuts off a request.
      const { acknowledged, done } = writeBurst(writers, () => false);
      await everyWriterAcknowledged(acknowledged);
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 120));
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      await done;
      for (const client of writers) client.close();
      assert.deepEqual(exit, { code: 0, signal: null }, `round ${round}`);
      for (const file of [paths.socket, paths.lock, paths.token]) assert.equal(fs.existsSync(file), false, `round ${round}: ${file}`);
      assert.ok(acknowledged.some((count) => count > 0), 'writes were acknowledged before the signal');

      const reader = await startOwnDaemon(home);
      const client = await DaemonClient.connect({ folder: home, clientName: 'reader' });
      const settings = await client.request(SettingsGet, {});
      client.close();
      reader.child.kill('SIGTERM');
      assert.deepEqual(await reader.exited, { code: 0, signal: null });
      assertBurstStored(settings, acknowledged, round);
    }
    fs.rmSync(home, { recursive: true, force: true });
  });
});
