/**
 * Provider sync against the Time4VPS test double on loopback: in-process with a real store (to watch exactly what is
 * written), and through a real daemon with the real vault holding the API login.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ProviderSync } from '../../daemon/inventory/sync.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { ServersDidChange, type ServerInfo, type SyncResult } from '../../daemon/protocol/servers.js';
import { Time4vpsProvider } from '../../daemon/providers/time4vps.js';
import { type FakeTime4vps, makeServers, startFakeTime4vps } from '../fakes/time4vps.js';
import { cliJson, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { MemorySecrets, type TestInventory, openTestInventory } from '../unit/allocationSupport.js';

const LOGIN = 'api-user@example.test';
const PASSWORD = 'correct horse battery staple';
const call = { client: 'test', requestId: 'test-sync' };

async function rejectsWith(promise: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('provider sync in-process: what a sync writes', () => {
  let fake: FakeTime4vps;
  let t: TestInventory;
  let secrets: MemorySecrets;
  let sync: ProviderSync;
  /** The client under test; `sleeps` records each wait (really waited unless `noWaiting`). */
  const provider = (options: { password?: string; maxWaitSeconds?: number; sleeps?: number[]; noWaiting?: boolean } = {}): Time4vpsProvider =>
    new Time4vpsProvider({
      apiBase: fake.url,
      loginSecret: 'sec_login000',
      passwordSecret: options.password ?? 'sec_passw000',
      secrets,
      ...(options.maxWaitSeconds === undefined ? {} : { maxWaitSeconds: options.maxWaitSeconds }),
      ...(options.sleeps
        ? {
            sleep: async (milliseconds: number) => {
              options.sleeps?.push(milliseconds);
              if (!options.noWaiting) await new Promise((resolve) => setTimeout(resolve, milliseconds));
            },
          }
        : {}),
    });

  beforeEach(async () => {
    fake = await startFakeTime4vps({ login: LOGIN, password: PASSWORD, servers: makeServers(1200) });
    t = await openTestInventory();
    secrets = new MemorySecrets(new Map([['sec_login000', LOGIN], ['sec_passw000', PASSWORD], ['sec_wrong000', 'nope']]));
    sync = new ProviderSync(t.database, () => t.settings.get('ghostServers'), t.notifier);
  });
  afterEach(async () => {
    t.close();
    await fake.stop();
  });

  test('1,200 new servers are discovered with their details; a second sync fetches no details and writes nothing', async () => {
    const first = await sync.sync(provider(), call);
    assert.equal(first.total, 1200);
    assert.equal(first.added.length, 1200);
    assert.equal(first.detailsFetched, 1200);
    assert.equal(fake.counts.list, 1);
    const one = await t.inventory.show('time4vps_1001');
    assert.deepEqual(
      { status: one.status, host: one.host, ramMb: one.ramMb, diskMb: one.diskMb, cpuCores: one.cpuCores, os: one.os, providerId: one.providerId },
      { status: 'discovered', host: '127.0.0.2', ramMb: 8192, diskMb: 160 * 1024, cpuCores: 4, os: 'debian-12', providerId: '1001' },
    );
    assert.equal(secrets.loans.length, 2, 'login and password are lent once for the whole sync');

    fake.resetCounts();
    const sequence = t.store.sequence;
    t.notifier.sent.length = 0;
    const second = await sync.sync(provider(), call);
    assert.equal(second.unchanged, 1200);
    assert.equal(second.detailsFetched, 0);
    assert.equal(fake.counts.detail, 0);
    assert.equal(t.store.sequence, sequence, 'a sync that changes nothing writes nothing');
    assert.deepEqual(t.notifier.sent, [], 'and tells nobody');
  });

  test('changed servers are updated, vanished ones go missing with their allocations flagged, and come back restored', async () => {
    fake.servers.clear();
    for (const server of makeServers(3)) fake.servers.set(server.id, server);
    await sync.sync(provider(), call);
    t.store.transaction((tx) => tx.run("UPDATE servers SET status = 'ready', available_ram_mb = 4000, available_disk_mb = 9000 WHERE handle = 'time4vps_1001'"));
    await t.allocator.allocate({ project: 'shop', minRamMb: 100, minDiskMb: 0 });
    assert.equal((await t.inventory.show('time4vps_1001')).status, 'in_use');

    const changed = fake.servers.get(1000);
    assert.ok(changed);
    changed.ip = '127.9.9.9';
    fake.servers.delete(1001);
    const [extra] = makeServers(1, 5000);
    assert.ok(extra);
    fake.servers.set(extra.id, extra);
    fake.resetCounts();
    const result = await sync.sync(provider(), call);
    assert.deepEqual(
      { added: result.added, updated: result.updated, missing: result.missing, restored: result.restored, unchanged: result.unchanged },
      { added: ['time4vps_5000'], updated: ['time4vps_1000'], missing: ['time4vps_1001'], restored: [], unchanged: 1 },
    );
    assert.equal(fake.counts.detail, 2, 'details only for the new and the changed server');
    assert.equal((await t.inventory.show('time4vps_1000')).host, '127.9.9.9');
    const gone = await t.inventory.show('time4vps_1001');
    assert.equal(gone.status, 'missing');
    assert.ok(gone.missingSince);
    assert.deepEqual((await t.allocator.list('shop')).map((allocation) => allocation.flags), [['server-missing']]);

    const back = makeServers(2).find((server) => server.id === 1001);
    assert.ok(back);
    fake.servers.set(1001, back);
    const restored = await sync.sync(provider(), call);
    assert.deepEqual(restored.restored, ['time4vps_1001']);
    assert.equal((await t.inventory.show('time4vps_1001')).status, 'in_use', 'it still hosts shop');
    assert.deepEqual((await t.allocator.list('shop')).map((allocation) => allocation.flags), [[]]);
  });

  test('a server whose modules were released while it was missing comes back ready, not in_use with no services', async () => {
    fake.servers.clear();
    for (const server of makeServers(2)) fake.servers.set(server.id, server);
    await sync.sync(provider(), call);
    // time4vps_1000 passed a health check and hosts shop; time4vps_1001 was never checked.
    t.store.transaction((tx) => tx.run("UPDATE servers SET status = 'ready', available_ram_mb = 4000, available_disk_mb = 9000 WHERE handle = 'time4vps_1000'"));
    await t.allocator.allocate({ project: 'shop', minRamMb: 100, minDiskMb: 0 });
    assert.equal((await t.inventory.show('time4vps_1000')).status, 'in_use');

    fake.servers.clear();
    assert.deepEqual((await sync.sync(provider(), call)).missing, ['time4vps_1000', 'time4vps_1001']);
    await t.allocator.release('shop');
    assert.equal((await t.inventory.show('time4vps_1000')).status, 'missing', 'releasing does not bring a missing server back');

    for (const server of makeServers(2)) fake.servers.set(server.id, server);
    const back = await sync.sync(provider(), call);
    assert.deepEqual(back.restored, ['time4vps_1000', 'time4vps_1001']);
    const status = async (handle: string): Promise<{ status: string; services: number; missingSince: string | null }> => {
      const server = await t.inventory.show(handle);
      return { status: server.status, services: server.services, missingSince: server.missingSince };
    };
    assert.deepEqual(await status('time4vps_1000'), { status: 'ready', services: 0, missingSince: null });
    assert.deepEqual(await status('time4vps_1001'), { status: 'discovered', services: 0, missingSince: null }, 'never checked: still discovered');
    assert.equal((await t.allocator.allocate({ project: 'blog', minRamMb: 100, minDiskMb: 0 })).server, 'time4vps_1000', 'and it takes projects again');
  });

  test('a throttle answer is waited out, then the sync goes on', async () => {
    fake.servers.clear();
    for (const server of makeServers(20)) fake.servers.set(server.id, server);
    const sleeps: number[] = [];
    fake.throttleNext(1);
    const result = await sync.sync(provider({ sleeps }), call);
    assert.equal(result.added.length, 20);
    assert.ok(fake.counts.throttled >= 1);
    assert.ok(sleeps.length >= 1 && sleeps.every((milliseconds) => milliseconds <= 1000), `waited ${sleeps.join(',')} ms`);
  });

  test('a rate limit hit during the parallel detail calls is waited out, once for all of them, and the sync completes', async () => {
    fake.servers.clear();
    for (const server of makeServers(24)) fake.servers.set(server.id, server);
    // The list and 9 details fit the first window; the other 8-way parallel detail calls run into the limit.
    fake.setRateLimit({ requests: 10, windowSeconds: 1 });
    const sleeps: number[] = [];
    const result = await sync.sync(provider({ sleeps }), call);
    assert.equal(result.added.length, 24);
    assert.equal(result.detailsFetched, 24);
    assert.ok(
      (await t.inventory.list()).every((server) => server.ramMb !== null && server.cpuCores !== null),
      'every server has its details',
    );
    assert.equal(fake.counts.list, 1);
    assert.equal(fake.counts.detail, 24, 'every throttled detail call was retried until answered, none twice');
    assert.ok(fake.counts.throttled >= 1, 'the limit was hit during the detail calls');
    // Every throttled answer makes the session wait before that call's retry; the wait is what the fake asked (1 s)
    // measured from the latest throttle answer, never more.
    assert.ok(sleeps.length >= fake.counts.throttled, `${sleeps.length} waits for ${fake.counts.throttled} throttled answers`);
    assert.ok(sleeps.every((milliseconds) => milliseconds > 0 && milliseconds <= 1000), `waited ${sleeps.join(',')} ms`);
  });

  test('a throttle that does not lift gives up after the allowed attempts with RateLimited, saying what to do', async () => {
    fake.throttleNext(30);
    const sleeps: number[] = [];
    // Waits are recorded, not slept: each retry lands inside the 30 s throttle again.
    await rejectsWith(
      sync.sync(provider({ sleeps, noWaiting: true }), call),
      ErrorCodes.RateLimited,
      /GET \/server was refused 4 times in a row \(last asked to wait \d+ s\), so Zavhoz gave up\. Wait a minute and run `zavhoz server sync` again/,
    );
    assert.equal(fake.counts.throttled, 4, 'four throttled attempts (the default), then no more requests');
    assert.equal(fake.counts.list, 0);
    assert.equal(sleeps.length, 3, 'a wait between attempts, none after the last');
    assert.deepEqual(await t.inventory.list({ all: true }), []);
  });

  test('a redirect is refused, so the API login never reaches another address', async () => {
    const seen: (string | undefined)[] = [];
    const elsewhere = http.createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('[]');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    try {
      fake.redirectTo(`http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/api/server`);
      await rejectsWith(
        sync.sync(provider(), call),
        ErrorCodes.ProviderError,
        /answered GET \/server with a redirect\. Zavhoz does not follow it, so the API login is never sent to another address; set time4vpsApiBase/,
      );
      assert.deepEqual(seen, [], 'nothing reached the redirect target');
    } finally {
      elsewhere.closeAllConnections();
      await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
    }
  });

  test('a throttle longer than the cap fails with RateLimited instead of hanging', async () => {
    fake.throttleNext(3600);
    await rejectsWith(sync.sync(provider({ maxWaitSeconds: 30 }), call), ErrorCodes.RateLimited, /asked to wait 3600 s, longer than Zavhoz waits \(30 s\)/);
    assert.equal(fake.counts.throttled, 1, 'no retry when the wait is longer than the cap');
    assert.deepEqual(await t.inventory.list({ all: true }), []);
  });

  test('an IP missing from the allow-list and a wrong password are told apart', async () => {
    fake.setIpAllowed(false);
    await rejectsWith(sync.sync(provider(), call), ErrorCodes.ProviderError, /your IP is not on the Time4VPS API allow-list; add it in the billing panel/);
    fake.setIpAllowed(true);
    await rejectsWith(sync.sync(provider({ password: 'sec_wrong000' }), call), ErrorCodes.AuthenticationFailed, /did not accept the API login/);
  });

  test('servers named in ghostServers by provider id are stored unmanaged', async () => {
    fake.servers.clear();
    for (const server of makeServers(3)) fake.servers.set(server.id, server);
    await t.settings.set('ghostServers', ['1002']);
    await sync.sync(provider(), call);
    assert.deepEqual((await t.inventory.list()).map((server) => server.handle), ['time4vps_1000', 'time4vps_1001']);
    assert.equal((await t.inventory.show('time4vps_1002')).managed, false);
  });
});

describe('provider sync through the daemon, with the API login in the vault', () => {
  let keyring: KeyringSession;
  let fake: FakeTime4vps;
  let daemon: TestDaemon;


  before(async () => {
    keyring = await startKeyring();
    fake = await startFakeTime4vps({ login: LOGIN, password: PASSWORD, servers: makeServers(1000) });
    daemon = await startTestDaemon({ env: keyring.env });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await daemon?.dispose();
    await fake?.stop();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('without a provider, sync says how to configure one', async () => {
    const result = await daemon.cli(['server', 'sync']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /No provider is configured.*time4vpsLoginSecret.*\[PreconditionFailed\]/);
  });

  test('the API base takes https, or http on loopback only, and never a login in the URL', async () => {
    const plain = await daemon.cli(['config', 'set', 'time4vpsApiBase', JSON.stringify('http://billing.time4vps.com/api')]);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /time4vpsApiBase: http is allowed only for a loopback host .*use https:\/\/billing\.time4vps\.com\/api/);
    const login = await daemon.cli(['config', 'set', 'time4vpsApiBase', JSON.stringify('https://me:pw@billing.time4vps.com/api')]);
    assert.notEqual(login.code, 0);
    assert.match(login.stderr, /must not contain a login \(user:pass@\)/);
    assert.ok(!login.stderr.includes('me:pw'), 'the refused value is not echoed back');
    assert.equal(await cliJson<string>(daemon, ['config', 'get', 'time4vpsApiBase']), 'https://billing.time4vps.com/api', 'the default stays');
  });

  test('on demand: 1,000 servers arrive as discovered, and the password never shows', async () => {
    const login = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'T4V_LOGIN', '--type', 'text', '--category', 'provider'], LOGIN);
    const password = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'T4V_PASSWORD', '--type', 'password', '--category', 'provider'], PASSWORD);
    await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '0']);
    await cliJson(daemon, ['config', 'set', 'time4vpsApiBase', JSON.stringify(fake.url)]);
    await cliJson(daemon, ['config', 'set', 'time4vpsLoginSecret', login.handle]);
    await cliJson(daemon, ['config', 'set', 'time4vpsPasswordSecret', password.handle]);

    const result = await cliJson<SyncResult>(daemon, ['server', 'sync']);
    assert.equal(result.added.length, 1000);
    const all = await cliJson<ServerInfo[]>(daemon, ['server', 'list', '--all']);
    assert.equal(all.length, 1000);
    assert.ok(all.every((server) => server.status === 'discovered' && server.provider === 'time4vps'));
    const again = await cliJson<SyncResult>(daemon, ['server', 'sync']);
    assert.equal(again.unchanged, 1000);
    assert.equal(again.detailsFetched, 0);

    const human = await daemon.cli(['server', 'sync']);
    assert.match(human.stdout, /Synced 1000 server\(s\) from time4vps: 0 new, 0 changed, 0 missing, 0 back, 1000 unchanged\./);
    for (const output of [human.stdout, human.stderr, JSON.stringify(all)]) assert.ok(!output.includes(PASSWORD));
  });

  test('the allow-list error reaches the user as written', async () => {
    fake.setIpAllowed(false);
    try {
      const result = await daemon.cli(['server', 'sync']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /your IP is not on the Time4VPS API allow-list; add it in the billing panel.*\[ProviderError\]/);
    } finally {
      fake.setIpAllowed(true);
    }
  });

  test('the periodic sync picks up a new server and tells connected clients', async () => {
    const client = await daemon.connect('watcher');
    try {
      const [extra] = makeServers(1, 9000);
      assert.ok(extra);
      fake.servers.set(extra.id, extra);
      const announced = new Promise<string[]>((resolve) => {
        client.onNotification(ServersDidChange, (params) => {
          if (params.handles.includes('time4vps_9000')) resolve(params.handles);
        });
      });
      await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '1']);
      assert.deepEqual(await announced, ['time4vps_9000']);
      await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '0']);
      assert.equal((await cliJson<ServerInfo>(daemon, ['server', 'show', 'time4vps_9000'])).status, 'discovered');
    } finally {
      client.close();
    }
  });

  test('the daemon stops cleanly with the periodic sync armed', async () => {
    await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '1']);
    const stopped = await daemon.cli(['daemon', 'stop', '--json']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(JSON.parse(stopped.stdout), { stopped: true });
    await daemon.start();
    const shown = await cliJson<ServerInfo>(daemon, ['server', 'show', 'time4vps_9000']);
    assert.equal(shown.provider, 'time4vps');
  });
});
