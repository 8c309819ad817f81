/**
 * A project's lock across the daemons of a team, on a real PostgreSQL 15 (test/harness/postgres.ts): work that asks to
 * queue (deploys, rollbacks, undeploys) waits behind another member's, says whom for, starts once that is done and
 * can be cancelled while it waits; work that does not ask is still refused with the holder's name. Waiters from
 * several daemons take the project in the order they came, and a waiter whose connection dropped loses its place
 * without stopping the line.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type HoldOptions, type ProjectLease, ProjectLocks } from '../../daemon/core/projectLocks.js';
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
  const ended = await server.asSuperuser((admin) =>
    admin.query('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [login.database, `${applicationName} locks`]),
  );
  assert.equal(ended.rowCount, 1, `one lock connection of ${applicationName}`);
}

/**
 * A TCP relay to the test PostgreSQL whose `cut()` fails its connections the way a network cut does: the client's side
 * is closed, the server's side is left open, so PostgreSQL keeps those sessions (and their advisory locks) alive.
 */
async function startCuttableRelay(): Promise<{ readonly port: number; cut(): void; close(): Promise<void> }> {
  const pairs: { client: net.Socket; upstream: net.Socket }[] = [];
  const kept: net.Socket[] = [];
  const relay = net.createServer((client) => {
    const upstream = net.connect(server.port, server.host);
    pairs.push({ client, upstream });
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as net.AddressInfo).port;
  return {
    port,
    cut: () => {
      for (const { client, upstream } of pairs.splice(0)) {
        client.removeAllListeners('close');
        upstream.removeAllListeners('close');
        upstream.removeAllListeners('data');
        upstream.pause();
        kept.push(upstream);
        client.destroy();
      }
    },
    close: async () => {
      for (const socket of [...kept, ...pairs.flatMap((pair) => [pair.client, pair.upstream])]) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}

/** A promise and the function that resolves it. */
function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** A member's project locks on a store of its own; its lock connection is named after the part before `@`. */
async function memberLocks(login: PostgresLogin, member: string, gate?: { open: boolean }): Promise<ProjectLocks> {
  return new ProjectLocks({ shared: await openStore(login, member.split('@')[0], gate), member });
}

/** Work holding project `shop` until the test lets it finish. */
interface HeldWork {
  /** What the work was given while it runs. */
  readonly lease: ProjectLease;
  /** Lets the work end (and the project go). */
  finish(): void;
  /** Settles once the work ended and the project was let go. */
  readonly done: Promise<unknown>;
}

/** `locks` holding `shop` for `activity` until `finish()`: resolves once the work runs. `ended` is called as it ends. */
async function holdShop(locks: ProjectLocks, activity: string, options: HoldOptions = {}, ended?: () => void): Promise<HeldWork> {
  const holding = signal<ProjectLease>();
  const mayFinish = signal();
  const done = locks.hold(
    'shop',
    activity,
    async (lease) => {
      holding.resolve(lease);
      await mayFinish.promise;
      ended?.();
    },
    options,
  );
  const lease = await Promise.race([holding.promise, done.then(() => Promise.reject(new Error(`${activity} ended before it held shop`)))]);
  return { lease, finish: () => mayFinish.resolve(), done };
}

/** Work that asks to queue for `shop` behind another member's: resolves with what it said once it waits. */
async function queueForShop(locks: ProjectLocks, activity: string, work: () => Promise<unknown>, options: HoldOptions = {}): Promise<{ message: string; done: Promise<unknown> }> {
  const waits = signal<string>();
  const done = locks.hold('shop', activity, work, { ...options, queue: { waiting: (_holder, message) => waits.resolve(message) } });
  const message = await Promise.race([waits.promise, done.then(() => Promise.reject(new Error(`${activity} did not wait`)))]);
  return { message, done };
}

describe('team store: a second member queues behind the first', () => {
  test("bob's deploy waits for alice's, says so, and runs once hers is done; a waiting one can be cancelled", async () => {
    const login = await server.createDatabase();
    const aliceLocks = await memberLocks(login, 'alice@laptop');
    const bobLocks = await memberLocks(login, 'bob@desk');

    const order: string[] = [];
    const alice = await holdShop(aliceLocks, 'deploy run_aaaaaaaaaa', {}, () => order.push('alice done'));

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
    const carolLocks = await memberLocks(login, 'carol@ci');
    const cancel = new AbortController();
    let carolRan = false;
    const carol = await queueForShop(
      carolLocks,
      'undeploy of shop',
      async () => {
        carolRan = true;
      },
      { signal: cancel.signal },
    );
    cancel.abort(new Error('cancelled while waiting'));
    await assert.rejects(carol.done, /cancelled while waiting/);

    // Work that does not ask to queue (a restart on a third member's daemon) is refused, naming the holder.
    await assert.rejects(
      carolLocks.hold('shop', 'restart of shop', async () => undefined),
      /Project shop is busy: alice@laptop is running deploy run_aaaaaaaaaa on it/,
    );

    alice.finish();
    await alice.done;
    assert.equal(await bob, 'bob deployed');
    assert.deepEqual(order, ['alice done', 'bob runs']);
    assert.equal(taken, 1, 'bob was told once that the wait was over');
    assert.equal(carolRan, false);
    // Carol's cancelled wait left no ticket in the line: work that does not queue is no longer refused.
    assert.equal(await carolLocks.hold('shop', 'restart of shop', async () => 'restarted'), 'restarted');
  });
});

describe('team store: the line across daemons', () => {
  test('three daemons queued on one project in a known order run in that order, each naming the one ahead of it; a fourth that asks as the holder lets go comes after them', async () => {
    const login = await server.createDatabase();
    const alice = await holdShop(await memberLocks(login, 'alice@laptop'), 'deploy run_aaaaaaaaaa');
    const order: string[] = [];
    const queued: { member: string; message: string; done: Promise<unknown> }[] = [];
    // One after the other: each is in line (it said whom it waits for) before the next asks.
    for (const [member, run] of [['bob@desk', 'run_bbbbbbbbbb'], ['carol@ci', 'run_cccccccccc'], ['dave@build', 'run_dddddddddd']] as const) {
      const locks = await memberLocks(login, member);
      const waiting = await queueForShop(locks, `deploy ${run}`, async () => {
        order.push(member);
      });
      queued.push({ member, ...waiting });
    }
    assert.match(queued[0]?.message ?? '', /^waiting for alice@laptop's deploy of shop \(run_aaaaaaaaaa, since /);
    assert.match(queued[1]?.message ?? '', /^waiting for bob@desk's deploy of shop \(run_bbbbbbbbbb, since /);
    assert.match(queued[2]?.message ?? '', /^waiting for carol@ci's deploy of shop \(run_cccccccccc, since /);

    alice.finish();
    await alice.done;
    // Erin asks the moment alice let go, before the first in line took the project: erin goes last all the same.
    const erin = (await memberLocks(login, 'erin@home')).hold('shop', 'deploy run_eeeeeeeeee', async () => {
      order.push('erin@home');
    }, { queue: { waiting: () => undefined } });
    await Promise.all([...queued.map((waiter) => waiter.done), erin]);
    assert.deepEqual(order, ['bob@desk', 'carol@ci', 'dave@build', 'erin@home'], 'first come, first served');
  });

  test('a waiter whose lock connection dropped loses its place: the one behind it goes first, and it still runs', async () => {
    const login = await server.createDatabase();
    const alice = await holdShop(await memberLocks(login, 'alice@laptop'), 'deploy run_aaaaaaaaaa');
    const order: string[] = [];
    const bob = await queueForShop(await memberLocks(login, 'bob@desk'), 'deploy run_bbbbbbbbbb', async () => {
      order.push('bob');
    });
    const carol = await queueForShop(await memberLocks(login, 'carol@ci'), 'deploy run_cccccccccc', async () => {
      order.push('carol');
    });
    assert.match(carol.message, /^waiting for bob@desk's deploy/);

    // Bob's ticket lived on that connection: it is gone with it, and bob queues again at the end, on a new one.
    await dropLockConnection(login, 'bob');
    alice.finish();
    await alice.done;
    await Promise.all([bob.done, carol.done]);
    assert.deepEqual(order, ['carol', 'bob']);
  });
});

describe('team store: a network cut', () => {
  test("a waiter cut off from the database is not left waiting behind its own half-open session's ticket", async () => {
    const login = await server.createDatabase();
    const relay = await startCuttableRelay();
    try {
      const alice = await holdShop(await memberLocks(login, 'alice@laptop'), 'deploy run_aaaaaaaaaa');
      const order: string[] = [];
      const bob = await queueForShop(await memberLocks({ ...login, host: '127.0.0.1', port: relay.port }, 'bob@desk'), 'deploy run_bbbbbbbbbb', async () => {
        order.push('bob');
      });
      // PostgreSQL still holds bob's old session and its ticket: bob's next connection ends it, so his new ticket is
      // not stuck behind the old one (which would last until the server's TCP keepalive gave up, hours later).
      relay.cut();
      alice.finish();
      await alice.done;
      await bob.done;
      assert.deepEqual(order, ['bob']);
      const left = await server.asSuperuser((client) => client.query<{ count: number }>('SELECT COUNT(*)::int AS count FROM lock_waiters'), login.database);
      assert.equal(left.rows[0]?.count, 0, 'no ticket left in line');
    } finally {
      await relay.close();
    }
  });
});

describe('team store: a dropped lock connection', () => {
  test('the holder is told at once, the lease says not held, and the lock is taken again on a new connection', async () => {
    const login = await server.createDatabase();
    const aliceLocks = await memberLocks(login, 'alice@laptop');
    const bobLocks = await memberLocks(login, 'bob@desk');
    const events: SharedLockEvent[] = [];
    const alice = await holdShop(aliceLocks, 'deploy run_aaaaaaaaaa', { lockEvents: (event) => events.push(event) });
    assert.equal(alice.lease.held, true);

    await dropLockConnection(login, 'alice');
    await eventually('alice told the lock was lost', () => events.some((event) => event.kind === 'lost'));
    await eventually('the lock taken again', () => events.some((event) => event.kind === 'retaken'));
    assert.deepEqual(
      events.map((event) => event.kind),
      ['lost', 'retaken'],
    );
    assert.equal(alice.lease.held, true);
    // Held again across daemons: bob is still refused, with alice's name.
    await assert.rejects(
      bobLocks.hold('shop', 'restart of shop', async () => undefined),
      /alice@laptop is running deploy run_aaaaaaaaaa/,
    );
    alice.finish();
    await alice.done;
    assert.equal(await bobLocks.hold('shop', 'deploy run_bbbbbbbbbb', async () => 'bob deployed'), 'bob deployed');
  });

  test('when another member took the lock meanwhile, the holder is told it is gone and who has it', async () => {
    const login = await server.createDatabase();
    const gate = { open: true };
    const aliceLocks = await memberLocks(login, 'alice@laptop', gate);
    const bobLocks = await memberLocks(login, 'bob@desk');
    const events: SharedLockEvent[] = [];
    const alice = await holdShop(aliceLocks, 'deploy run_aaaaaaaaaa', { lockEvents: (event) => events.push(event) });

    // Alice's daemon cannot reach the database for now; her lock connection drops.
    gate.open = false;
    await dropLockConnection(login, 'alice');
    await eventually('alice told the lock was lost', () => events.some((event) => event.kind === 'lost'));
    assert.equal(alice.lease.held, false, 'not held while it is being taken again');

    // Bob's deploy takes the project meanwhile (the server frees the lock as alice's backend exits).
    let bob: HeldWork | undefined;
    await eventually('bob takes the freed lock', async () => {
      bob = await holdShop(bobLocks, 'deploy run_bbbbbbbbbb').catch(() => undefined);
      return bob !== undefined;
    });

    gate.open = true;
    await eventually('alice told the lock is gone', () => events.some((event) => event.kind === 'gone'));
    const gone = events.find((event) => event.kind === 'gone');
    assert.ok(gone?.kind === 'gone');
    assert.equal(gone.heldBy?.member, 'bob@desk');
    assert.match(gone.reason, /bob@desk holds it now/);
    assert.equal(alice.lease.held, false);

    alice.finish();
    await alice.done;
    // Alice's release does not free bob's lock.
    await assert.rejects(
      aliceLocks.hold('shop', 'restart of shop', async () => undefined),
      /bob@desk is running deploy run_bbbbbbbbbb/,
    );
    bob?.finish();
    await bob?.done;
  });
});
