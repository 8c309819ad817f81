/**
 * A project's lock across the daemons of a team, on a real PostgreSQL 15 (test/harness/postgres.ts): work that asks to
 * queue (deploys, rollbacks, undeploys) waits behind another member's, says whom for, starts once that is done and
 * can be cancelled while it waits; work that does not ask is still refused with the holder's name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProjectLocks } from '../../daemon/core/projectLocks.js';
import type { SharedLockHolder } from '../../daemon/core/sharedLocks.js';
import { PostgresDatabase } from '../../daemon/store/postgres/database.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { type PostgresLogin, type PostgresServer, startPostgres } from '../harness/postgres.js';

let server: PostgresServer;
const opened: PostgresDatabase[] = [];

before(async () => {
  server = await startPostgres();
});

after(async () => {
  for (const database of opened) await database.close().catch(() => undefined);
  await server?.stop();
});

async function openStore(login: PostgresLogin): Promise<PostgresDatabase> {
  const { password, ...where } = login;
  const database = await PostgresDatabase.open({ connection: { ...where, password: () => Promise.resolve(password) }, migrations: MIGRATIONS });
  opened.push(database);
  return database;
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
