/**
 * When the extension gives up on a failing daemon: after five failures in a row, whether the connects fail or
 * the daemon crashes right after each handshake; a connection that stayed up for a minute forgives the past.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RECONNECT_LIMITS, ReconnectPolicy } from '../../extension/model/reconnect.js';

const { maxFailures, stableMs } = DEFAULT_RECONNECT_LIMITS;

test('connects that keep failing back off (0.5 s, 1 s, 2 s, 4 s) and then stop', () => {
  const policy = new ReconnectPolicy();
  const delays = Array.from({ length: maxFailures }, (_, index) => policy.failed(index * 1000));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, undefined]);
});

test('a daemon that crashes right after every handshake is given up on too', () => {
  const policy = new ReconnectPolicy();
  let now = 0;
  const delays: (number | undefined)[] = [];
  for (let crash = 0; crash < maxFailures; crash++) {
    policy.connected(now);
    now += 2_000; // up for two seconds, then gone
    delays.push(policy.failed(now));
  }
  assert.equal(delays.at(-1), undefined, 'the fifth crash in a row stops the retries');
  assert.ok(delays.slice(0, -1).every((delay) => delay !== undefined));
});

test('a connection that stayed up for a minute clears earlier failures', () => {
  const policy = new ReconnectPolicy();
  for (let failure = 0; failure < maxFailures - 1; failure++) policy.failed(failure);
  policy.connected(10_000);
  assert.equal(policy.failed(10_000 + stableMs), 500, 'back to the first, shortest delay');
});

test('Restart Daemon forgets every failure', () => {
  const policy = new ReconnectPolicy();
  for (let failure = 0; failure < maxFailures; failure++) policy.failed(failure);
  policy.reset();
  assert.equal(policy.failed(100), 500);
});

test('the delay never exceeds the cap', () => {
  const policy = new ReconnectPolicy({ maxFailures: 20, stableMs: 60_000, baseDelayMs: 500, maxDelayMs: 8_000 });
  const delays = Array.from({ length: 19 }, (_, index) => policy.failed(index));
  assert.equal(Math.max(...delays.map((delay) => delay ?? 0)), 8_000);
});
