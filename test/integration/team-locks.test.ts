/**
 * A project's lock across the daemons of a team, on a real PostgreSQL 15 (test/harness/postgres.ts): work that asks to
 * queue (deploys, rollbacks, undeploys) waits behind another member's, says whom for, starts once that is done and
 * can be cancelled while it waits; work that does not ask is still refused with the holder's name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type ProjectLease, ProjectLocks } from '../../daemon/core/projectLocks.js';
import type { SharedLockEvent, SharedLockHolder } from '../../daemon/core/sharedLocks.js';
import { PostgresDatabase } from '../../daemon/store/postgres/database.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { type PostgresLogin, type PostgresServer, startPostgres } from '../harness/postgres.js';
import { eventually } from '../harness/processes.js';

let server: PostgresServer;
const opened: PostgresDatabase[] = [];

before(async () => {
  server = await startPostgres();
});

after(async () => {
  for (const database of opened) await database.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned it
  await server?.stop();
});

/** A member's store; `gate.open = false` makes its new connections fail to log in (the database unreachable for it). */
async function openStore(login: PostgresLogin, applicationName = 'zavhoz test', gate: { open: boolean } = { open: true }): Promise<PostgresDatabase> {
  const { password, ...where } = login;
  const database = await PostgresDatabase.open({
    connection: { ...where, applicationName, password: () => (gate.open ? Promise.resolve(password) : Promise.reject(new Error('connect ECONNREFUSED (test gate closed)'))) },
    migrations: MIGRATIONS,
  });
  opened.push(database);
  return database;
}

/** Ends the server side of a member's lock connection (as a network cut or a restarted pooler would), as the superuser. */
async function dropLockConnection(login: PostgresLogin, applicationName: string): Promise<void> {
  const admin = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
  await admin.connect();
  try {
    const ended = await admin.query<{ ended: boolean }>('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [login.database, `${applicationName} locks`]);
    assert.equal(ended.rowCount, 1, `one lock connection of ${applicationName}`);
  } finally {
    await admin.end();
  }
}

/** A promise and the function that resolves it. */
function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe('team store: a second member queues behind the first', () => {
  test("bob's deploy waits for alice's, says so, and runs once hers is done; a waiting one can be cancelled", async () => {
    const login = await server.createDatabase();
    const aliceLocks = new ProjectLocks({ shared: await openStore(login), member: 'alice@laptop' });
    const bobLocks = new ProjectLocks({ shared: await openStore(login), member: 'bob@desk' });

    const aliceRuns = signal();
    const aliceMayFinish = signal();
    const order: string[] = [];
    const alice = aliceLocks.hold('shop', 'deploy run_aaaaaaaaaa', async () => {
      aliceRuns.resolve();
      await aliceMayFinish.promise;
      order.push('alice done');
    });
    await aliceRuns.promise;

    const bobWaits = signal<{ holder: SharedLockHolder; message: string }>();
    let taken = 0;
    const bob = bobLocks.hold(
      'shop',
      'deploy run_bbbbbbbbbb',
      async () => {
        order.push('bob runs');
        return 'bob deployed';
      },
      {
        queue: {
          waiting: (holder, message) => bobWaits.resolve({ holder, message }),
          taken: () => {
            taken++;
          },
        },
      },
    );
    const waiting = await bobWaits.promise;
    assert.equal(waiting.holder.member, 'alice@laptop');
    assert.match(waiting.message, /^waiting for alice@laptop's deploy of shop \(run_aaaaaaaaaa, since /);
    assert.deepEqual(order, [], 'bob does not run while alice holds the project');

    // Carol's undeploy queues too, and is cancelled while it waits: it never runs and lets nobody wait for it.
    const carolLocks = new ProjectLocks({ shared: await openStore(login), member: 'carol@ci' });
    const cancel = new AbortController();
    const carolWaits = signal();
    let carolRan = false;
    const carol = carolLocks.hold(
      'shop',
      'undeploy of shop',
      async () => {
        carolRan = true;
      },
      { signal: cancel.signal, queue: { waiting: () => carolWaits.resolve() } },
    );
    await carolWaits.promise;
    cancel.abort(new Error('cancelled while waiting'));
    await assert.rejects(carol, /cancelled while waiting/);

    // Work that does not ask to queue (a restart on a third member's daemon) is refused, naming the holder.
    await assert.rejects(
      carolLocks.hold('shop', 'restart of shop', async () => undefined),
      /Project shop is busy: alice@laptop is running deploy run_aaaaaaaaaa on it/,
    );

    aliceMayFinish.resolve();
    await alice;
    assert.equal(await bob, 'bob deployed');
    assert.deepEqual(order, ['alice done', 'bob runs']);
    assert.equal(taken, 1, 'bob was told once that the wait was over');
    assert.equal(carolRan, false);
  });
});

describe('team store: a dropped lock connection', () => {
  test('the holder is told at once, the lease says not held, and the lock is taken again on a new connection', async () => {
    const login = await server.createDatabase();
    const aliceLocks = new ProjectLocks({ shared: await openStore(login, 'alice'), member: 'alice@laptop' });
    const bobLocks = new ProjectLocks({ shared: await openStore(login, 'bob'), member: 'bob@desk' });
    const events: SharedLockEvent[] = [];
    const holding = signal<ProjectLease>();
    const mayFinish = signal();
    const alice = aliceLocks.hold(
      'shop',
      'deploy run_aaaaaaaaaa',
      async (lease) => {
        holding.resolve(lease);
        await mayFinish.promise;
      },
      { lockEvents: (event) => events.push(event) },
    );
    const lease = await holding.promise;
    assert.equal(lease.held, true);

    await dropLockConnection(login, 'alice');
    await eventually('alice told the lock was lost', () => events.some((event) => event.kind === 'lost'));
    await eventually('the lock taken again', () => events.some((event) => event.kind === 'retaken'));
    assert.deepEqual(
      events.map((event) => event.kind),
      ['lost', 'retaken'],
    );
    assert.equal(lease.held, true);
    // Held again across daemons: bob is still refused, with alice's name.
    await assert.rejects(
      bobLocks.hold('shop', 'restart of shop', async () => undefined),
      /alice@laptop is running deploy run_aaaaaaaaaa/,
    );
    mayFinish.resolve();
    await alice;
    assert.equal(await bobLocks.hold('shop', 'deploy run_bbbbbbbbbb', async () => 'bob deployed'), 'bob deployed');
  });

  test('when another member took the lock meanwhile, the holder is told it is gone and who has it', async () => {
    const login = await server.createDatabase();
    const gate = { open: true };
    const aliceLocks = new ProjectLocks({ shared: await openStore(login, 'alice', gate), member: 'alice@laptop' });
    const bobLocks = new ProjectLocks({ shared: await openStore(login, 'bob'), member: 'bob@desk' });
    const events: SharedLockEvent[] = [];
    const holding = signal<ProjectLease>();
    const mayFinish = signal();
    const alice = aliceLocks.hold(
      'shop',
      'deploy run_aaaaaaaaaa',
      async (lease) => {
        holding.resolve(lease);
        await mayFinish.promise;
      },
      { lockEvents: (event) => events.push(event) },
    );
    const lease = await holding.promise;

    // Alice's daemon cannot reach the database for now; her lock connection drops.
    gate.open = false;
    await dropLockConnection(login, 'alice');
    await eventually('alice told the lock was lost', () => events.some((event) => event.kind === 'lost'));
    assert.equal(lease.held, false, 'not held while it is being taken again');

    // Bob's deploy takes the project meanwhile (the server frees the lock as alice's backend exits).
    const bobHolds = signal();
    const bobMayFinish = signal();
    let bob: Promise<unknown> | undefined;
    await eventually('bob takes the freed lock', async () => {
      const attempt = bobLocks.hold('shop', 'deploy run_bbbbbbbbbb', async () => {
        bobHolds.resolve();
        await bobMayFinish.promise;
      });
      const outcome = await Promise.race([bobHolds.promise.then(() => 'held'), attempt.then(() => 'done', () => 'refused')]);
      if (outcome === 'held') bob = attempt;
      return outcome === 'held';
    });

    gate.open = true;
    await eventually('alice told the lock is gone', () => events.some((event) => event.kind === 'gone'));
    const gone = events.find((event) => event.kind === 'gone');
    assert.ok(gone?.kind === 'gone');
    assert.equal(gone.heldBy?.member, 'bob@desk');
    assert.match(gone.reason, /bob@desk holds it now/);
    assert.equal(lease.held, false);

    mayFinish.resolve();
    await alice;
    // Alice's release does not free bob's lock.
    await assert.rejects(
      aliceLocks.hold('shop', 'restart of shop', async () => undefined),
      /bob@desk is running deploy run_bbbbbbbbbb/,
    );
    bobMayFinish.resolve();
    await bob;
  });
});
