/**
 * Deep links (`vscode://zavhoz.zavhoz/run/ID`, `/secret/HANDLE`, `/server/HANDLE`) open what they name; anything
 * else, however it is shaped, opens nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deepLink, parseDeepLink } from '../../extension/model/deepLinks.js';
import { describeRunFilter, filterRuns } from '../../extension/model/runFilter.js';
import type { RunSummary } from '../../daemon/protocol/runs.js';

describe('deep links', () => {
  test('run, secret and server links are read back from the links Zavhoz makes', () => {
    for (const link of [
      { kind: 'run', id: 'run_abcdefgh23' },
      { kind: 'run', id: 'apr_abcdefgh23' },
      { kind: 'secret', handle: 'sec_7f3k2x2m' },
      { kind: 'server', handle: 'prod_vps_1' },
    ] as const) {
      const made = deepLink(link);
      assert.match(made, /^vscode:\/\/zavhoz\.zavhoz\/(run|secret|server)\//);
      assert.deepEqual(parseDeepLink(new URL(made).pathname), link);
    }
  });

  test('a trailing slash is fine; other shapes, ids and kinds open nothing', () => {
    assert.deepEqual(parseDeepLink('/run/run_abcdefgh23/'), { kind: 'run', id: 'run_abcdefgh23' });
    for (const path of ['', '/', '/run', '/run/', '/run/123', '/run/run_abcdefgh23/extra', '/secret/DEPLOY_SSH_KEY', '/secret/sec_%zz', '/server/../etc', '/server/Prod', '/release/rel_1', '/run/run_ABCDEFGH23']) {
      assert.equal(parseDeepLink(path), undefined, path);
    }
  });
});

describe('Deploy Runs filter', () => {
  const summary = (project: string, status: RunSummary['status']): RunSummary => ({ project, status }) as RunSummary;
  const runs = [summary('shop', 'failed'), summary('shop', 'succeeded'), summary('blog', 'failed'), summary('blog', 'running')];

  test('by project, by state, by both, or not at all', () => {
    assert.equal(filterRuns(runs, {}).length, 4);
    assert.deepEqual(filterRuns(runs, { project: 'shop' }).map((run) => run.status), ['failed', 'succeeded']);
    assert.deepEqual(filterRuns(runs, { status: 'failed' }).map((run) => run.project), ['shop', 'blog']);
    assert.deepEqual(filterRuns(runs, { project: 'blog', status: 'failed' }).length, 1);
    assert.equal(describeRunFilter({ project: 'shop', status: 'failed' }), 'shop · failed');
    assert.equal(describeRunFilter({}), '');
  });
});
