import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import { EXIT_ALREADY_RUNNING } from '../../daemon/core/startup.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { DaemonLog, DaemonLogSubscribe, DaemonPing, DaemonStatus, MAX_MESSAGE_BYTES } from '../../daemon/protocol/lifecycle.js';
import { SettingsDidChange, SettingsGet, SettingsSet } from '../../daemon/protocol/settings.js';
import { DAEMON_SCRIPT, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { RawSocket } from '../harness/rawSocket.js';

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
    assert.equal(status.protocolVersion, 1);
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
    assert.match(answer.error?.message ?? '', /client speaks 99, this daemon speaks 1/);
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
    assert.match(missingField.error?.message ?? '', /key/);
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
    await new Promise((resolve) => setTimeout(resolve, 100));
    const traced = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => record.requestId === 'trace-me-123');
    assert.ok(traced.some((record) => record.message === 'setting changed' && record.client === 'actor'), lines.join('\n'));
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
      const acknowledged = [0, 0, 0];
      let stop = false;
      const loops = writers.map(async (client, index) => {
        for (let value = 1; !stop; value++) {
          try {
            if (index === 0) await client.request(SettingsSet, { key: 'syncIntervalSeconds', value });
            else if (index === 1) await client.request(SettingsSet, { key: 'healthCheckIntervalSeconds', value });
            else await client.request(SettingsSet, { key: 'agentDeployProjects', value: [`p${value}`] });
            acknowledged[index] = value;
          } catch {
            return; // the daemon died mid-request: this one was never acknowledged
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 120));
      await daemon.kill9();
      stop = true;
      await Promise.all(loops);
      for (const client of writers) client.close();

      await daemon.start();
      const reader = await daemon.connect();
      const settings = await reader.request(SettingsGet, {});
      reader.close();
      const stored = [settings.syncIntervalSeconds, settings.healthCheckIntervalSeconds, Number(settings.agentDeployProjects[0]?.slice(1) ?? 0)];
      for (let index = 0; index < 3; index++) {
        // Every acknowledged write is there; at most the one in flight at the kill may also have landed.
        assert.ok(stored[index]! >= acknowledged[index]! && stored[index]! <= acknowledged[index]! + 1, `round ${round} writer ${index}: stored ${stored[index]} acknowledged ${acknowledged[index]}`);
      }
      assert.ok(acknowledged.some((count) => count > 0), 'writes were acknowledged before the kill');
    }
    await daemon.dispose();
  });
});
