/**
 * The status a server gets back when its provider lists it again after it went missing: reachability from the last
 * health check, `in_use` or `ready` from the allocations it has now.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { restoredStatus } from '../../daemon/inventory/sync.js';

const MISSING_SINCE = '2026-11-20T10:00:00.000Z';
const BEFORE = '2026-11-20T09:00:00.000Z';
const DURING = '2026-11-20T11:00:00.000Z';

function missing(before: string | null, allocations: number, check: { at: string | null; error: string | null } = { at: BEFORE, error: null }) {
  return {
    status_before_missing: before,
    missing_since: MISSING_SINCE,
    last_check_at: check.at,
    last_check_error: check.error,
    allocation_count: allocations,
  };
}

describe('inventory: the status of a server that comes back from missing', () => {
  test('a reachable server follows its allocations now, not the status it left with', () => {
    assert.equal(restoredStatus(missing('in_use', 0)), 'ready', 'its modules were released while it was missing');
    assert.equal(restoredStatus(missing('in_use', 2)), 'in_use');
    assert.equal(restoredStatus(missing('ready', 0)), 'ready');
    assert.equal(restoredStatus(missing('ready', 1)), 'in_use');
  });

  test('a server no check ever reached stays discovered, and one whose last check failed stays unreachable', () => {
    assert.equal(restoredStatus(missing('discovered', 0, { at: null, error: null })), 'discovered');
    assert.equal(restoredStatus(missing(null, 0, { at: null, error: null })), 'discovered', 'no status remembered: nothing known about it');
    assert.equal(restoredStatus(missing('unreachable', 1, { at: BEFORE, error: 'ECONNREFUSED' })), 'unreachable');
  });

  test('a check run while the server was missing is newer than the status it left with', () => {
    assert.equal(restoredStatus(missing('unreachable', 0, { at: DURING, error: null })), 'ready');
    assert.equal(restoredStatus(missing('discovered', 1, { at: DURING, error: null })), 'in_use');
    assert.equal(restoredStatus(missing('in_use', 1, { at: DURING, error: 'no answer in time' })), 'unreachable');
  });
});
