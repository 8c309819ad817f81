/**
 * One piece of work per project: a second holder waits (and learns who holds it), turns go first come first served,
 * projects do not block each other, a failing holder still lets the next one in, and an abort leaves the line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProjectLocks } from '../../daemon/core/projectLocks.js';

/** A promise and the function that settles it, to hold a lock for exactly as long as a test wants. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('project locks', () => {
  test('a second holder of the same project waits, is told who holds it, and runs after', async () => {
    const locks = new ProjectLocks();
    const order: string[] = [];
    const first = gate();
    const deploy = locks.hold('shop', 'deploy run_a', async () => {
      order.push('deploy start');
      await first.promise;
      order.push('deploy end');
    });
    const told: string[] = [];
    const restart = locks.hold('shop', 'restart of shop', async () => order.push('restart'), { waiting: (holder) => told.push(holder.activity) });
    await Promise.resolve();
    assert.deepEqual(told, ['deploy run_a']);
    assert.equal(locks.holderOf('shop')?.activity, 'deploy run_a');
    first.open();
    await Promise.all([deploy, restart]);
    assert.deepEqual(order, ['deploy start', 'deploy end', 'restart']);
    assert.equal(locks.holderOf('shop'), undefined);
  });

  test('waiters go in the order they came', async () => {
    const locks = new ProjectLocks();
    const held = gate();
    const order: number[] = [];
    const first = locks.hold('shop', 'one', () => held.promise);
    const rest = [2, 3, 4].map((n) => locks.hold('shop', String(n), async () => order.push(n)));
    held.open();
    await Promise.all([first, ...rest]);
    assert.deepEqual(order, [2, 3, 4]);
  });

  test('two projects never wait for each other', async () => {
    const locks = new ProjectLocks();
    const held = gate();
    const shop = locks.hold('shop', 'deploy', () => held.promise);
    assert.equal(await locks.hold('blog', 'restart', async () => 'ran'), 'ran');
    held.open();
    await shop;
  });

  test('a holder that throws passes its error on and frees the project', async () => {
    const locks = new ProjectLocks();
    await assert.rejects(locks.hold('shop', 'deploy', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await locks.hold('shop', 'restart', async () => 'ran'), 'ran');
  });

  test('an abort while waiting leaves the line with the signal reason; the others keep their turn', async () => {
    const locks = new ProjectLocks();
    const held = gate();
    const first = locks.hold('shop', 'deploy', () => held.promise);
    const controller = new AbortController();
    const cancelled = locks.hold('shop', 'restart', async () => assert.fail('must not run'), { signal: controller.signal });
    const later = locks.hold('shop', 'stop', async () => 'ran');
    controller.abort(new Error('cancelled by the user'));
    await assert.rejects(cancelled, /cancelled by the user/);
    held.open();
    await first;
    assert.equal(await later, 'ran');
    assert.equal(locks.holderOf('shop'), undefined);
  });

  test('an already aborted signal never takes the lock', async () => {
    const locks = new ProjectLocks();
    await assert.rejects(locks.hold('shop', 'restart', async () => 'ran', { signal: AbortSignal.abort(new Error('gone')) }), /gone/);
    assert.equal(locks.holderOf('shop'), undefined);
  });
});
