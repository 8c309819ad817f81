import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { PortMap } from '../../daemon/allocation/ports.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { type TestInventory, openTestInventory } from './allocationSupport.js';

async function rejects(work: () => Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

/** Runs an allocation that must be refused for want of a server, and returns the error. */
async function refusedAllocation(work: () => Promise<unknown>): Promise<ZavhozError> {
  let caught: unknown;
  try {
    await work();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ZavhozError, String(caught));
  assert.equal(caught.code, ErrorCodes.PreconditionFailed, caught.message);
  return caught;
}

describe('allocation: deterministic choice of server and ports', () => {
  let t: TestInventory;
  beforeEach(async () => {
    t = await openTestInventory();
  });
  afterEach(() => t.close());

  test('the server with the most available RAM wins; ties go to fewer services, then to the handle', async () => {
    await t.addReady('small', { ramMb: 2000 });
    await t.addReady('big', { ramMb: 8000 });
    await t.addReady('also_big', { ramMb: 8000 });
    const first = await t.allocator.allocate({ project: 'shop', minRamMb: 100, minDiskMb: 0 });
    assert.equal(first.server, 'also_big', 'equal RAM and no services: the handle decides');
    assert.deepEqual(
      first.allocations.map(({ module, server, port }) => ({ module, server, port })),
      [{ module: 'app', server: 'also_big', port: 8000 }],
    );
    // also_big now has 7900 MB left; big has 8000 and wins on RAM.
    assert.equal((await t.allocator.allocate({ project: 'blog', minRamMb: 100, minDiskMb: 0 })).server, 'big');
    // Both at 7900 MB with one service each: the handle decides again.
    assert.equal((await t.allocator.allocate({ project: 'wiki', minRamMb: 0, minDiskMb: 0 })).server, 'also_big');
    // RAM tied at 7900, also_big has two services, big one: fewer services wins.
    assert.equal((await t.allocator.allocate({ project: 'chat', minRamMb: 0, minDiskMb: 0 })).server, 'big');
    assert.equal((await t.inventory.show('also_big')).status, 'in_use');
    assert.equal((await t.inventory.show('small')).status, 'ready');
  });

  test('a project stays on one server; adding a module allocates only that module', async () => {
    await t.addReady('one', { ramMb: 4000 });
    const first = await t.allocator.allocate({ project: 'shop', modules: ['backend', 'tg-bot'], minRamMb: 500, minDiskMb: 0 });
    assert.deepEqual(first.created, ['backend', 'tg-bot']);
    await t.addReady('two', { ramMb: 64_000 });
    const more = await t.allocator.allocate({ project: 'shop', modules: ['backend', 'worker'], minRamMb: 500, minDiskMb: 0 });
    assert.equal(more.server, 'one', 'never split, even though two now has far more RAM');
    assert.deepEqual(more.created, ['worker']);
    assert.deepEqual(
      more.allocations.map(({ module, port }) => `${module}:${port}`),
      ['backend:8000', 'tg-bot:8001', 'worker:8002'],
    );
    assert.equal((await t.inventory.show('one')).reservedRamMb, 1500);
    assert.equal((await t.inventory.show('one')).services, 3);
  });

  test('allocations asked for at once never share a port, and one project asked for at once is allocated once', async () => {
    for (const handle of ['a', 'b', 'c']) await t.addReady(handle, { ramMb: 64_000, listening: [8001] });
    // Nothing awaited between them: each reads and writes in its own transaction, as concurrent requests would.
    const distinct = Array.from({ length: 150 }, (_, index) => t.allocator.allocate({ project: `p${index}`, modules: ['web', 'api'], minRamMb: 1, minDiskMb: 0 }));
    const same = Array.from({ length: 20 }, () => t.allocator.allocate({ project: 'shared', modules: ['web'], minRamMb: 1, minDiskMb: 0 }));
    const results = await Promise.all([...distinct, ...same]);
    const pairs = (await t.allocator.list()).map((allocation) => `${allocation.server}:${allocation.port}`);
    assert.equal(pairs.length, 150 * 2 + 1);
    assert.equal(new Set(pairs).size, pairs.length, 'no (server, port) pair twice');
    assert.ok(!pairs.some((pair) => pair.endsWith(':8001')), 'a port seen listening is never given');
    const shared = results.slice(150);
    assert.equal(shared.filter((result) => result.created.length > 0).length, 1, 'the project was allocated once');
    assert.equal(new Set(shared.map((result) => `${result.server}:${result.allocations[0]?.port}`)).size, 1, 'every answer names the same allocation');
    const reopened = await t.reopen();
    try {
      assert.deepEqual((await reopened.allocator.list()).map((allocation) => `${allocation.server}:${allocation.port}`), pairs, 'the same after a restart');
    } finally {
      reopened.close();
    }
  });

  test('asking again is idempotent and writes nothing', async () => {
    await t.addReady('one', { ramMb: 4000 });
    const first = await t.allocator.allocate({ project: 'shop', modules: ['backend'], minRamMb: 256, minDiskMb: 0 });
    const sequence = t.store.sequence;
    const again = await t.allocator.allocate({ project: 'shop', modules: ['backend'], minRamMb: 256, minDiskMb: 0 });
    const bare = await t.allocator.allocate({ project: 'shop', minRamMb: 256, minDiskMb: 0 });
    assert.deepEqual(again.allocations, first.allocations);
    assert.deepEqual(bare.allocations, first.allocations);
    assert.deepEqual(again.created, []);
    assert.equal(t.store.sequence, sequence);
    assert.equal((await t.allocator.list()).length, 1);
  });

  test('ports start at 8000 and skip allocated ports and ports seen listening; released ports come back', async () => {
    await t.addReady('one', { ramMb: 64_000, listening: [22, 8000, 8002] });
    const ports = async (project: string): Promise<number[]> =>
      (await t.allocator.allocate({ project, modules: ['a', 'b'], minRamMb: 1, minDiskMb: 0 })).allocations.map((allocation) => allocation.port);
    assert.deepEqual(await ports('p1'), [8001, 8003]);
    assert.deepEqual(await ports('p2'), [8004, 8005]);
    await t.allocator.release('p1', 'a');
    assert.deepEqual(await ports('p3'), [8001, 8006]);
    await t.allocator.release('p2');
    assert.equal((await t.inventory.show('one')).services, 3);
    assert.deepEqual(await ports('p4'), [8004, 8005]);
  });

  test('reserved RAM moves the next project to another server, and releasing gives it back', async () => {
    await t.addReady('alpha', { ramMb: 3000 });
    await t.addReady('beta', { ramMb: 2000 });
    assert.equal((await t.allocator.allocate({ project: 'p1', modules: ['a', 'b'], minRamMb: 750, minDiskMb: 0 })).server, 'alpha');
    assert.equal((await t.inventory.show('alpha')).reservedRamMb, 1500);
    assert.equal((await t.allocator.allocate({ project: 'p2', minRamMb: 600, minDiskMb: 0 })).server, 'beta');
    await t.allocator.release('p1');
    assert.equal((await t.inventory.show('alpha')).reservedRamMb, 0);
    assert.equal((await t.inventory.show('alpha')).status, 'ready', 'no services left: back to ready');
    assert.equal((await t.allocator.allocate({ project: 'p3', minRamMb: 600, minDiskMb: 0 })).server, 'alpha');
  });

  test('no suitable server: the error names which constraint failed on which managed server, and only counts ghosts', async () => {
    await t.addReady('tiny', { ramMb: 300 });
    await t.addReady('full_disk', { ramMb: 9000, diskMb: 100 });
    await t.addReady('laptop', { ramMb: 32_000 });
    await t.inventory.add({ handle: 'fresh', host: '10.0.0.9', sshPort: 22, sshUser: 'root', labels: [] });
    await t.inventory.ghost('laptop', false);
    const sequence = t.store.sequence;
    const error = await refusedAllocation(() => t.allocator.allocate({ project: 'shop', modules: ['a', 'b'], minRamMb: 256, minDiskMb: 1024 }));
    assert.match(
      error.message,
      /fresh: its status is discovered.*zavhoz server check fresh.*full_disk: it has 100 MB disk free \(needs 1024 MB\).*tiny: it has 300 MB RAM free after reservations \(needs 512 MB\)\. 1 ghost server\(s\) \(personal machines\) were left out/,
    );
    // The error reaches agent tools: a personal machine is never named to automation, in the text or the data.
    assert.ok(!error.message.includes('laptop'), error.message);
    assert.ok(!JSON.stringify(error.data).includes('laptop'), JSON.stringify(error.data));
    assert.deepEqual(
      (error.data?.refusals as { server: string }[]).map((refusal) => refusal.server),
      ['fresh', 'full_disk', 'tiny'],
    );
    assert.equal(error.data?.ghostServers, 1);
    assert.equal(t.store.sequence, sequence, 'a refused allocation writes nothing');
  });

  test('an empty inventory says how to add a server', async () => {
    await rejects(() => t.allocator.allocate({ project: 'shop', minRamMb: 1, minDiskMb: 0 }), ErrorCodes.PreconditionFailed, /inventory is empty.*zavhoz server add/);
  });

  test('an inventory of ghosts only is "no managed server", with the ghosts counted and not named', async () => {
    await t.addReady('laptop', { ramMb: 32_000 });
    await t.addReady('desktop', { ramMb: 64_000 });
    await t.settings.set('ghostServers', ['laptop', 'desktop']);
    const error = await refusedAllocation(() => t.allocator.allocate({ project: 'shop', minRamMb: 1, minDiskMb: 0 }));
    assert.match(error.message, /no managed server\. 2 ghost server\(s\) \(personal machines\) were left out.*zavhoz server add/);
    assert.ok(!/laptop|desktop/.test(`${error.message} ${JSON.stringify(error.data)}`));
    assert.deepEqual(error.data?.refusals, []);
  });

  test('ghost servers are never chosen, and the ghostServers setting re-evaluates managed flags', async () => {
    await t.addReady('laptop', { ramMb: 32_000 });
    await t.addReady('vps', { ramMb: 1000 });
    await t.settings.set('ghostServers', ['laptop']);
    assert.equal((await t.inventory.show('laptop')).managed, false);
    assert.deepEqual((await t.inventory.list()).map((server) => server.handle), ['vps'], 'list shows managed servers only');
    assert.deepEqual((await t.inventory.list({ all: true })).map((server) => server.handle), ['laptop', 'vps']);
    assert.deepEqual(await t.inventory.statuses(), [{ handle: 'vps', status: 'ready' }], 'statuses, as the notification seed reads them: managed servers only');
    assert.equal((await t.allocator.allocate({ project: 'shop', minRamMb: 1, minDiskMb: 0 })).server, 'vps');
    await t.inventory.manage('laptop');
    assert.deepEqual(t.settings.get('ghostServers'), []);
    assert.equal((await t.inventory.show('laptop')).managed, true);
    assert.equal((await t.allocator.allocate({ project: 'blog', minRamMb: 1, minDiskMb: 0 })).server, 'laptop');
    await rejects(() => t.inventory.ghost('laptop', false), ErrorCodes.Conflict, /hosts 1 allocated module.*--force/);
    await t.inventory.ghost('laptop', true);
    assert.deepEqual(await t.allocator.list('blog'), []);
    assert.equal((await t.inventory.show('laptop')).managed, false);
    const sequence = t.store.sequence;
    assert.deepEqual(await t.inventory.reevaluateGhosts(), [], 'nothing to change: nothing written');
    assert.equal(t.store.sequence, sequence);
  });

  test('a project whose server went missing keeps its allocations, flagged, and cannot grow', async () => {
    await t.addReady('one', { ramMb: 4000 });
    await t.allocator.allocate({ project: 'shop', modules: ['backend'], minRamMb: 100, minDiskMb: 0 });
    t.store.transaction((tx) => tx.run("UPDATE servers SET status = 'missing' WHERE handle = 'one'"));
    const again = await t.allocator.allocate({ project: 'shop', modules: ['backend'], minRamMb: 100, minDiskMb: 0 });
    assert.deepEqual(again.allocations[0]?.flags, ['server-missing']);
    assert.deepEqual((await t.allocator.list('shop'))[0]?.flags, ['server-missing']);
    await rejects(
      () => t.allocator.allocate({ project: 'shop', modules: ['backend', 'bot'], minRamMb: 100, minDiskMb: 0 }),
      ErrorCodes.PreconditionFailed,
      /modules live on one and its status is missing.*never split/,
    );
  });

  test('removing a server is refused while it hosts modules, unless --force releases them', async () => {
    await t.addReady('one', { ramMb: 4000 });
    await t.allocator.allocate({ project: 'shop', modules: ['a', 'b'], minRamMb: 100, minDiskMb: 0 });
    await rejects(() => t.inventory.remove('one', false), ErrorCodes.Conflict, /hosts 2 allocated module\(s\)/);
    assert.deepEqual(await t.inventory.remove('one', true), { removed: 'one', releasedAllocations: 2 });
    assert.deepEqual(await t.allocator.list(), []);
    await t.addReady('one', { ramMb: 4000 });
    assert.deepEqual(
      (await t.allocator.allocate({ project: 'blog', minRamMb: 1, minDiskMb: 0 })).allocations.map((allocation) => allocation.port),
      [8000],
      'the ports of the removed server are free again',
    );
  });

  test('after a restart the next free port continues where the table says', async () => {
    await t.addReady('one', { ramMb: 64_000 });
    for (const project of ['a', 'b', 'c']) await t.allocator.allocate({ project, minRamMb: 1, minDiskMb: 0 });
    await t.allocator.release('b');
    t = await t.reopen();
    assert.deepEqual((await t.allocator.allocate({ project: 'd', modules: ['x', 'y'], minRamMb: 1, minDiskMb: 0 })).allocations.map((a) => a.port), [8001, 8003]);
    assert.equal((await t.inventory.show('one')).services, 4);
  });

  test('allocations are announced to clients', async () => {
    await t.addReady('one', { ramMb: 4000 });
    t.notifier.sent.length = 0;
    await t.allocator.allocate({ project: 'shop', minRamMb: 1, minDiskMb: 0 });
    assert.deepEqual(t.notifier.sent, [
      { method: 'allocations/didChange', params: { projects: ['shop'] } },
      { method: 'servers/didChange', params: { handles: ['one'] } },
    ]);
  });
});

describe('allocation: the port map', () => {
  test('finds the lowest free port past thousands of allocated ones and takes freed ports back first', () => {
    const ports = new PortMap();
    ports.load(Array.from({ length: 10_000 }, (_, index) => ({ server: 's', port: 8000 + index })));
    assert.equal(ports.firstFree('s', () => false), 18_000);
    assert.equal(ports.firstFree('s', (port) => port === 18_000), 18_001);
    ports.free('s', 9_000);
    assert.equal(ports.firstFree('s', () => false), 9_000);
    ports.take('s', 9_000);
    assert.equal(ports.firstFree('s', () => false), 18_000);
    assert.equal(ports.firstFree('other', () => false), 8000);
  });

  test('the search looks at as many candidates with 50,000 allocations as with 100', () => {
    const looked = (allocated: number, listening: readonly number[]): { port: number | undefined; steps: number } => {
      const ports = new PortMap();
      ports.load(Array.from({ length: allocated }, (_, index) => ({ server: 's', port: 8000 + index })));
      const port = ports.firstFree('s', (candidate) => listening.includes(candidate));
      return { port, steps: ports.lastSearchSteps };
    };
    const few = looked(100, []);
    const many = looked(50_000, []);
    assert.deepEqual([few.port, many.port], [8100, 58_000]);
    assert.equal(many.steps, few.steps, `${many.steps} candidates at 50,000 vs ${few.steps} at 100`);
    assert.equal(few.steps, 1, 'the lowest unallocated port is known without looking');
    // Ports seen listening cost one look each, whatever the allocations.
    assert.equal(looked(100, [8100, 8101]).steps, looked(50_000, [58_000, 58_001]).steps);
  });

  test('ports taken out of order still leave the search starting at the lowest free one', () => {
    const ports = new PortMap();
    // Every other port of 20,000 taken first (as a restart may load them), then the gaps of the low half.
    ports.load(Array.from({ length: 10_000 }, (_, index) => ({ server: 's', port: 8000 + index * 2 })));
    for (let port = 8001; port < 18_000; port += 2) ports.take('s', port);
    assert.equal(ports.firstFree('s', () => false), 18_001);
    assert.equal(ports.lastSearchSteps, 1);
  });

  test('reports when a server has no port left', () => {
    const ports = new PortMap();
    ports.load(Array.from({ length: 65_536 - 8000 }, (_, index) => ({ server: 's', port: 8000 + index })));
    assert.equal(ports.firstFree('s', () => false), undefined);
  });
});
