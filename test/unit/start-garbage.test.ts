/** The daemon's one full collection after start (core/startGarbage.ts): when it runs, and without `gc`. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectStartGarbage } from '../../daemon/core/startGarbage.js';
import { daemonArguments } from '../../daemon/client/spawn.js';

describe('collecting the start garbage', () => {
  test("runs once, only after every piece of the start's work has settled, a failed one included", async () => {
    const events: string[] = [];
    let finishSeed: () => void = () => undefined;
    const seed = new Promise<void>((resolve) => (finishSeed = resolve)).then(() => void events.push('seed done'));
    const failed = Promise.reject(new Error('a start task failed'));
    const collecting = collectStartGarbage([seed, failed], { delayMs: 0, collect: () => void events.push('collected') });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, [], 'nothing collected while the seed runs');
    finishSeed();
    assert.equal(await collecting, true);
    assert.deepEqual(events, ['seed done', 'collected']);
  });

  test("does nothing without V8's gc (running from source), and the daemon is started with it exposed", async () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'the test runner does not expose gc');
    assert.equal(await collectStartGarbage([], { delayMs: 0 }), false);
    assert.ok(daemonArguments('/opt/zavhoz/dist/daemon.cjs').includes('--expose-gc'));
  });
});
