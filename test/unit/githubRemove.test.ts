/**
 * Deleting the CI secrets Zavhoz pushed for a project (an undeploy), against the fake GitHub: repository and
 * environment secrets, other projects' and hand-set secrets left alone, a secret already gone, missing credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEPLOY_SECRET_NAMES } from '../../daemon/protocol/github.js';
import { type GithubHarness, caller, handle, multiLineKey, startGithubHarness } from './githubSupport.js';

describe('GitHub: removing a project\'s CI secrets', () => {
  let harness: GithubHarness;

  before(async () => {
    harness = await startGithubHarness();
    harness.fake.createRepository('octo-org/shop', { environments: ['production'] });
    harness.fake.createRepository('octo-org/blog');
    harness.vault.set(handle('sshkey'), multiLineKey());
    // The projects' CI deploy key (daemon/cikey/'s part; githubSupport stands in for it under this handle).
    harness.vault.set(handle('cikey'), multiLineKey());
    harness.vault.set(handle('other'), 'a value set by hand');
    const target = { server: 'prod_vps_1', host: '203.0.113.7', sshUser: 'deploy', sshPort: 22, sshKeyHandle: handle('sshkey') };
    harness.targets.set('shop', target);
    harness.targets.set('blog', target);
  });
  after(async () => {
    await harness.dispose();
  });

  test('every secret pushed for the project goes, in the repository and its environment; nothing else does', async () => {
    await harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'shop', use: caller() });
    await harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'shop', environment: 'production', use: caller() });
    await harness.service.pushDeploySecrets({ repo: 'octo-org/blog', project: 'blog', use: caller() });
    await harness.service.setSecret({ repo: 'octo-org/shop', name: 'SENTRY_DSN', handle: handle('other'), use: caller() });
    harness.fake.deleteSecret('octo-org/shop', 'DEPLOY_PORT');

    const result = await harness.service.removeProjectSecrets('shop', caller('req-undeploy'));
    const names = [...DEPLOY_SECRET_NAMES].sort();
    assert.deepEqual(result.removed, [...names.map((name) => `octo-org/shop:${name}`), ...names.map((name) => `octo-org/shop@production:${name}`)].sort());
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(harness.fake.secretNames('octo-org/shop'), ['SENTRY_DSN'], 'a secret set by hand is not the project\'s deploy secret');
    assert.deepEqual(harness.fake.secretNames('octo-org/shop', 'production'), []);
    assert.deepEqual(harness.fake.secretNames('octo-org/blog'), names, "another project's secrets stay");
    const status = await harness.service.status({ repo: 'octo-org/shop', use: caller() });
    assert.deepEqual(status.secrets.map((secret) => secret.name), ['SENTRY_DSN'], 'the records went with the secrets');
    const audit = (await harness.audit.list({ subject: 'github:octo-org/shop' })).filter((entry) => entry.action === 'github-delete');
    assert.equal(audit.length, 2);
    assert.ok(audit.every((entry) => entry.requestId === 'req-undeploy' && entry.detail.project === 'shop'));

    harness.fake.resetCounters();
    assert.deepEqual(await harness.service.removeProjectSecrets('shop', caller()), { removed: [], warnings: [] });
    assert.equal(harness.fake.requests.length, 0, 'nothing pushed: no GitHub call');
  });

  test('without credentials the secrets stay, their records too, and the warning says where to delete them', async () => {
    const token = harness.connection.tokenSecret;
    harness.connection.tokenSecret = null;
    try {
      const result = await harness.service.removeProjectSecrets('blog', caller());
      assert.deepEqual(result.removed, []);
      assert.equal(result.warnings.length, 1);
      assert.match(result.warnings[0] ?? '', /The CI secrets Zavhoz pushed to octo-org\/blog \(DEPLOY_.*\) were not deleted: No GitHub credentials are configured.*Settings → Secrets and variables → Actions/);
    } finally {
      harness.connection.tokenSecret = token;
    }
    const retried = await harness.service.removeProjectSecrets('blog', caller());
    assert.equal(retried.removed.length, DEPLOY_SECRET_NAMES.length, 'a second run, with credentials, finishes the job');
    assert.deepEqual(harness.fake.secretNames('octo-org/blog'), []);
  });
});
