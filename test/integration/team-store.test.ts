/**
 * Team mode across daemons on a real PostgreSQL 15 (test/harness/postgres.ts): four members' stores allocating at
 * once, project locks refused with the holder's name, a change on one member's daemon reaching another's clients
 * through LISTEN/NOTIFY (and its settings cache), a pool busy with its own work said to be busy, and a listener
 * callback that throws caught by the listener. Each "daemon" is the real domain code over its own PostgresDatabase
 * (its own pool and connections), as wiring builds it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Allocator } from '../../daemon/allocation/allocator.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { ProjectLocks } from '../../daemon/core/projectLocks.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { SettingsService } from '../../daemon/settings/settings.js';
import { PostgresDatabase } from '../../daemon/store/postgres/database.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { changeNotifications, refreshNotices } from '../../daemon/team/definitions.js';
import { wireTeamChanges } from '../../daemon/wiring/team.js';
import type { Foundation, Lifecycle } from '../../daemon/wiring/services.js';
import { type PostgresLogin, type PostgresServer, startPostgres } from '../harness/postgres.js';
import { eventually, removeFolder } from '../harness/processes.js';
import { RecordingNotifier } from '../unit/allocationSupport.js';

let server: PostgresServer;
const opened: PostgresDatabase[] = [];
const folders: string[] = [];
const stoppers: (() => Promise<void> | void)[] = [];

before(async () => {
  server = await startPostgres();
});

after(async () => {
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
  for (const stop of stoppers.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  for (const database of opened) await database.close().catch(() => undefined);
  for (const folder of folders) removeFolder(folder);
  await server?.stop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

async function openStore(login: PostgresLogin, extra: { maxConnections?: number; connectTimeoutMs?: number; applicationName?: string } = {}): Promise<PostgresDatabase> {
  const { password, ...where } = login;
  const database = await PostgresDatabase.open({ connection: { ...where, password: () => Promise.resolve(password), ...extra }, migrations: MIGRATIONS });
  opened.push(database);
  return database;
}

const INSERT_SERVER =
  "INSERT INTO servers (handle, name, host, ssh_port, ssh_user, status, available_ram_mb, available_disk_mb, created_at, updated_at) VALUES (?, ?, '127.0.0.1', 22, 'root', 'ready', ?, ?, ?, ?)";

describe('team store: allocation across daemons', () => {
  test('four daemons allocating 1,000 projects at once hand out no (server, port) twice; one project asked by all four gets one allocation', async () => {
    const login = await server.createDatabase();
    const members = await Promise.all([0, 1, 2, 3].map(() => openStore(login)));
    const now = new Date().toISOString();
    await members[0]!.transaction(async (tx) => {
      for (const handle of ['srv_a', 'srv_b']) await tx.run(INSERT_SERVER, [handle, handle, 1_000_000_000, 1_000_000, now, now]);
    });
    const allocators = members.map((store) => new Allocator(store, new RecordingNotifier()));
    // Every allocator has read its port map before the others write: the stale in-memory map is what must not win.
    await Promise.all(allocators.map((allocator, index) => allocator.allocate({ project: `warm-${index}`, minRamMb: 1, minDiskMb: 0 })));

    const perMember = 250;
    const results = await Promise.all(
      allocators.map((allocator, member) =>
        Promise.all(Array.from({ length: perMember }, (_, index) => allocator.allocate({ project: `p-${member}-${index}`, minRamMb: 1, minDiskMb: 0 }))),
      ),
    );
    const pairs = new Set<string>();
    for (const allocation of results.flat().flatMap((result) => result.allocations)) pairs.add(`${allocation.server}:${allocation.port}`);
    assert.equal(pairs.size, 4 * perMember, 'every allocation has a (server, port) of its own');

    const same = await Promise.all(allocators.map((allocator) => allocator.allocate({ project: 'shared-shop', minRamMb: 1, minDiskMb: 0 })));
    const distinct = new Set(same.map((result) => JSON.stringify(result.allocations.map((allocation) => [allocation.server, allocation.port]))));
    assert.equal(distinct.size, 1, 'all four got the same allocation');
    assert.equal(same.filter((result) => result.created.length > 0).length, 1, 'exactly one of them created it');
    const rows = await members[0]!.all('SELECT server, port FROM allocations');
    assert.equal(rows.length, 4 + 4 * perMember + 1);
    const duplicates = await members[0]!.all('SELECT server, port FROM allocations GROUP BY server, port HAVING COUNT(*) > 1');
    assert.deepEqual(duplicates, []);
  });
});

describe('team store: project locks across daemons', () => {
  test("a project held by one member's daemon refuses another's work with the holder's name, and is free once done or once that daemon is gone", async () => {
    const login = await server.createDatabase();
    const alice = await openStore(login);
    const bob = await openStore(login);
    const aliceLocks = new ProjectLocks({ shared: alice, member: 'alice@laptop' });
    const bobLocks = new ProjectLocks({ shared: bob, member: 'bob@desk' });

    let finish: () => void = () => undefined;
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const deploy = aliceLocks.hold('shop', 'deploy run_aaaaaaaaaa', async () => {
      started();
      await new Promise<void>((resolve) => (finish = resolve));
      return 'deployed';
    });
    await running;

    let ran = false;
    const refused = await bobLocks
      .hold('shop', 'deploy run_bbbbbbbbbb', async () => {
        ran = true;
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(refused instanceof ZavhozError, String(refused));
    assert.equal(refused.code, ErrorCodes.Conflict);
    assert.match(refused.message, /Project shop is busy: alice@laptop is running deploy run_aaaaaaaaaa on it/);
    assert.equal(ran, false, 'the refused work never ran');
    // Another project is not held.
    assert.equal(await bobLocks.hold('blog', 'restart of blog', async () => 'restarted'), 'restarted');

    finish();
    assert.equal(await deploy, 'deployed');
    assert.equal(await bobLocks.hold('shop', 'deploy run_cccccccccc', async () => 'bob deployed'), 'bob deployed');

    // A daemon that goes away (its connections end) lets go of what it held.
    const carol = await openStore(login);
    const carolLocks = new ProjectLocks({ shared: carol, member: 'carol@ci' });
    let carolHolding: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (carolHolding = resolve));
    const forever = carolLocks.hold('shop', 'undeploy of shop', async () => {
      carolHolding();
      await new Promise(() => undefined);
    });
    void forever.catch(() => undefined);
    await holding;
    await assert.rejects(bobLocks.hold('shop', 'deploy run_dddddddddd', async () => undefined), /carol@ci is running undeploy of shop/);
    await carol.close();
    // The server frees a session's locks as its backend exits, a moment after the connection closed: waited for.
    let after = '';
    await eventually("carol's lock freed by the server", () =>
      bobLocks.hold('shop', 'deploy run_eeeeeeeeee', async () => (after = 'after carol')).then(
        () => true,
        (error: unknown) => {
          assert.match(String(error), /carol@ci/);
          return false;
        },
      ),
    );
    assert.equal(after, 'after carol');
  });
});

/** A foundation as the daemon builds it, on a team store, with a notifier that records what its clients were told. */
function teamFoundation(store: PostgresDatabase, member: string): { foundation: Foundation; clients: RecordingNotifier } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-team-'));
  folders.push(folder);
  const redactor = new Redactor();
  const logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
  stoppers.push(() => logger.close());
  const clients = new RecordingNotifier();
  const lifecycle: Lifecycle = {
    onShutdown: (stop) => stoppers.push(stop),
    requestShutdown: () => undefined,
  };
  const record = { host: '127.0.0.1', port: server.port, database: 'team', user: 'zavhoz', member, joinedAt: new Date().toISOString() };
  const foundation: Foundation = {
    paths: dataPaths(folder),
    store,
    redactor,
    logger,
    log: logger.child({ component: 'test' }),
    server: Object.assign(clients, { notifyConnection: () => false }),
    lifecycle,
    environment: {},
    team: { record, store },
  };
  return { foundation, clients };
}

describe('team store: changes reach every member', () => {
  test("a change on A's daemon reaches B's clients through NOTIFY, and B's settings cache reloads", async () => {
    const login = await server.createDatabase();
    const storeA = await openStore(login);
    const storeB = await openStore(login);
    const a = teamFoundation(storeA, 'alice@laptop');
    const b = teamFoundation(storeB, 'bob@desk');
    const teamA = await wireTeamChanges(a.foundation);
    const teamB = await wireTeamChanges(b.foundation);
    const settingsA = await SettingsService.open(storeA, teamA.foundation.server);
    const settingsB = await SettingsService.open(storeB, teamB.foundation.server);
    teamA.followSettings(settingsA);
    teamB.followSettings(settingsB);
    const heardOnB: string[] = [];
    settingsB.onDidChange((key) => {
      heardOnB.push(key);
    });

    const before = settingsB.get('healthCheckIntervalSeconds');
    const wanted = before === 120 ? 180 : 120;
    await settingsA.set('healthCheckIntervalSeconds', wanted);
    await eventually("B's clients told of A's setting", () => b.clients.sent.some((sent) => sent.method === 'settings/didChange'));
    assert.deepEqual(
      b.clients.sent.find((sent) => sent.method === 'settings/didChange')?.params,
      { key: 'healthCheckIntervalSeconds' },
    );
    assert.equal(settingsB.get('healthCheckIntervalSeconds'), wanted, "B's settings cache holds A's value by the time B's clients hear of it");
    assert.deepEqual(heardOnB, ['healthCheckIntervalSeconds']);

    // An allocation made on A reaches B's clients too; A's own clients hear it once (not echoed back).
    const now = new Date().toISOString();
    await storeA.transaction((tx) => tx.run(INSERT_SERVER, ['srv_n', 'srv_n', 1_000_000, 1_000_000, now, now]));
    await new Allocator(storeA, teamA.foundation.server).allocate({ project: 'shop', minRamMb: 1, minDiskMb: 0 });
    await eventually("B's clients told of A's allocation", () => b.clients.sent.some((sent) => sent.method === 'allocations/didChange'));
    assert.deepEqual(b.clients.sent.find((sent) => sent.method === 'allocations/didChange')?.params, { projects: ['shop'] });
    // A notice from B afterwards proves A's listener had its chance to hear its own notices: none came back.
    await settingsB.set('healthCheckIntervalSeconds', before);
    await eventually("A's clients told of B's setting", () => a.clients.sent.filter((sent) => sent.method === 'settings/didChange').length === 2);
    assert.equal(a.clients.sent.filter((sent) => sent.method === 'allocations/didChange').length, 1);
    assert.equal(settingsA.get('healthCheckIntervalSeconds'), before);
  });
});

describe('team store: after the change notices were interrupted', () => {
  test("a member's clients are told to read every area afresh once its listener is back, settings reloaded first", async () => {
    const login = await server.createDatabase();
    const store = await openStore(login, { applicationName: 'refresh-member' });
    const member = teamFoundation(store, 'dana@desk');
    const team = await wireTeamChanges(member.foundation);
    const settings = await SettingsService.open(store, team.foundation.server);
    team.followSettings(settings);
    // Another member changes a setting while this member's listener is away: no notice reaches it.
    const other = await openStore(login);
    const otherSettings = await SettingsService.open(other, new RecordingNotifier());
    const ended = await server.asSuperuser((admin) => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [login.database, 'refresh-member listener']));
    assert.equal(ended.rowCount, 1, 'the listener connection was ended');
    const wanted = settings.get('healthCheckIntervalSeconds') === 120 ? 180 : 120;
    await otherSettings.set('healthCheckIntervalSeconds', wanted);

    const areas = changeNotifications().map((definition) => definition.method);
    await eventually('every area told to read afresh', () => areas.every((method) => member.clients.sent.some((sent) => sent.method === method)), 60_000);
    assert.equal(settings.get('healthCheckIntervalSeconds'), wanted, 'the missed setting was reloaded');
    assert.ok(member.clients.sent.some((sent) => sent.method === 'settings/didChange' && (sent.params as { key: string }).key === 'healthCheckIntervalSeconds'));
    assert.deepEqual(refreshNotices(changeNotifications()).unfit, [], 'every area has a read-afresh notice that fits its schema');
  });
});

describe('team store: what the driver reports', () => {
  test("a pool busy with this daemon's own work says busy, not unreachable", async () => {
    const login = await server.createDatabase();
    const store = await openStore(login, { maxConnections: 1, connectTimeoutMs: 500 });
    let release: () => void = () => undefined;
    let inside: () => void = () => undefined;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const long = store.transaction(async (tx) => {
      await tx.get('SELECT 1 AS one');
      inside();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await entered;
    const error = await store.all('SELECT 1 AS one').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    release();
    await long;
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, ErrorCodes.Timeout);
    assert.match(error.message, /is reachable, but this daemon's 1 connections to it were all busy/);
    assert.doesNotMatch(error.message, /cannot be reached/);
    assert.deepEqual(await store.all('SELECT 1 AS one'), [{ one: 1 }], 'the pool serves again once free');
  });

  test('a listener callback that throws is caught and reported, and listening goes on', async () => {
    const login = await server.createDatabase();
    const store = await openStore(login);
    const heard: string[] = [];
    const reported: string[] = [];
    await store.listen(['team_test'], {
      onMessage: (_channel, payload) => {
        heard.push(payload);
        if (payload === 'boom') throw new Error('callback failed');
      },
      onCallbackError: (error, callback) => reported.push(`${callback}: ${(error as Error).message}`),
    });
    await store.notify('team_test', 'boom');
    await eventually('the throw reported', () => reported.length === 1);
    assert.deepEqual(reported, ['onMessage: callback failed']);
    await store.notify('team_test', 'after');
    await eventually('the next notice heard', () => heard.includes('after'));
    assert.deepEqual(heard, ['boom', 'after']);
  });
});
