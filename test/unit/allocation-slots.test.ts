/**
 * The switchover slot of a module behind the proxy: a second port the allocator hands out beside the module's own,
 * over a real store, the same after asking again or after a restart, and never one that another allocation holds.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type TestInventory, openTestInventory } from './allocationSupport.js';

/** Every port allocated on a server, own ports and slots, as the store holds them. */
function portsOf(t: TestInventory, server: string): number[] {
  return t.store
    .all<{ port: number }>('SELECT port FROM allocations WHERE server = ? UNION ALL SELECT slot_port AS port FROM allocations WHERE server = ? AND slot_port IS NOT NULL', [server, server])
    .map((row) => row.port);
}

describe('allocation: switchover slots of modules behind the proxy', () => {
  let t: TestInventory;
  beforeEach(async () => {
    t = await openTestInventory();
  });
  afterEach(() => t.close());

  test('the slot is the lowest free port, handed out once: asking again, or after a restart, gives the same port', async () => {
    await t.addReady('one', { ramMb: 4000, listening: [8002] });
    await t.allocator.allocate({ project: 'shop', modules: ['api', 'web'], minRamMb: 100, minDiskMb: 0 });
    assert.deepEqual((await t.allocator.list('shop')).map((allocation) => allocation.port), [8000, 8001]);
    // 8002 is seen listening on the server (someone else's process), so the slot skips it.
    assert.equal(await t.allocator.slotPort('shop', 'web'), 8003);
    assert.equal(await t.allocator.slotPort('shop', 'web'), 8003, 'idempotent');
    assert.equal(await t.allocator.slotPort('shop', 'missing'), undefined, 'no allocation, no slot');
    t = await t.reopen();
    assert.equal(await t.allocator.slotPort('shop', 'web'), 8003, 'kept across a restart');
    assert.equal(await t.allocator.slotPort('shop', 'api'), 8004, 'the restarted allocator knows 8003 is taken');
  });

  test('slots and ports never collide, whichever is handed out first, and a release frees both', async () => {
    await t.addReady('one', { ramMb: 8000 });
    await t.allocator.allocate({ project: 'shop', modules: ['app'], minRamMb: 0, minDiskMb: 0 });
    assert.equal(await t.allocator.slotPort('shop', 'app'), 8001);
    // A new project on the same server gets neither the port nor the slot of shop.
    const blog = await t.allocator.allocate({ project: 'blog', modules: ['web', 'admin'], minRamMb: 0, minDiskMb: 0 });
    assert.equal(blog.server, 'one');
    assert.deepEqual(blog.allocations.map((allocation) => allocation.port).sort(), [8002, 8003]);
    assert.equal(await t.allocator.slotPort('blog', 'web'), 8004);
    for (let index = 0; index < 20; index++) {
      const project = `p${String(index)}`;
      await t.allocator.allocate({ project, modules: ['app'], minRamMb: 0, minDiskMb: 0 });
      if (index % 2 === 0) await t.allocator.slotPort(project, 'app');
    }
    const taken = portsOf(t, 'one');
    assert.equal(new Set(taken).size, taken.length, `no port is held twice: ${taken.join(', ')}`);
    assert.equal(taken.length, 3 + 2 + 20 + 10);

    await t.allocator.release('shop');
    // shop's port 8000 and slot 8001 are free again: the next allocation and the next slot take them.
    assert.equal((await t.allocator.allocate({ project: 'next', modules: ['app'], minRamMb: 0, minDiskMb: 0 })).allocations[0]?.port, 8000);
    assert.equal(await t.allocator.slotPort('next', 'app'), 8001);
    const after = portsOf(t, 'one');
    assert.equal(new Set(after).size, after.length);
  });

  test("a module's slot given back (its last domain went) is free for the next allocation; asking again hands out a free one", async () => {
    await t.addReady('one', { ramMb: 8000 });
    await t.allocator.allocate({ project: 'shop', modules: ['app'], minRamMb: 0, minDiskMb: 0 });
    assert.equal(await t.allocator.slotPort('shop', 'app'), 8001);
    assert.equal(await t.allocator.releaseSlot('shop', 'app'), 8001);
    assert.equal(await t.allocator.releaseSlot('shop', 'app'), undefined, 'nothing to give back twice');
    assert.equal(await t.allocator.releaseSlot('shop', 'missing'), undefined, 'no allocation, no slot');
    assert.deepEqual(portsOf(t, 'one'), [8000], 'the store holds the module port alone');
    // Another project's module takes the freed port; the module's next slot is another free one.
    assert.equal((await t.allocator.allocate({ project: 'blog', modules: ['web'], minRamMb: 0, minDiskMb: 0 })).allocations[0]?.port, 8001);
    assert.equal(await t.allocator.slotPort('shop', 'app'), 8002);
    t = await t.reopen();
    assert.equal(await t.allocator.releaseSlot('shop', 'app'), 8002, 'released after a restart too');
    assert.equal(await t.allocator.slotPort('blog', 'web'), 8002, 'the restarted allocator knows 8002 is free again');
  });
});
