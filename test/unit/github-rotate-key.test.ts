/**
 * `rotateDeployKey` (the scheduled CI key rotation): the new key goes to every repository (and environment) that had
 * the project's DEPLOY_SSH_KEY before the old one is retired; a push that fails keeps the old key installed and names
 * every repository still to push to, after trying the others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GithubHarness, caller, handle, multiLineKey, startGithubHarness } from './githubSupport.js';

describe('CI deploy key rotation across repositories', () => {
  let harness: GithubHarness;

  before(async () => {
    harness = await startGithubHarness();
    harness.fake.createRepository('octo-org/shop', { environments: ['production'] });
    harness.fake.createRepository('octo-org/mirror');
    harness.vault.set(handle('cikey'), multiLineKey());
    harness.vault.set(handle('sshkey'), multiLineKey());
    harness.targets.set('shop', { server: 'prod_vps_1', host: '203.0.113.7', sshUser: 'deploy', sshPort: 22, sshKeyHandle: handle('sshkey') });
    await harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'shop', use: caller() });
    await harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'shop', environment: 'production', use: caller() });
    await harness.service.pushDeploySecrets({ repo: 'octo-org/mirror', project: 'shop', use: caller() });
  });
  after(async () => {
    await harness.dispose();
  });

  test('every repository and environment that had the key gets the new one, then the old one is retired', async () => {
    harness.ciKeyCalls.length = 0;
    const pushedTo = await harness.service.rotateDeployKey('shop', caller());
    assert.deepEqual(pushedTo, ['octo-org/mirror', 'octo-org/shop', 'octo-org/shop (production)']);
    assert.deepEqual(harness.ciKeyCalls, [{ project: 'shop', server: 'prod_vps_1', rotate: true, retired: true }]);
  });

  test('a failed push: the others are still pushed, the old key stays, and the error names what is left to push', async () => {
    harness.ciKeyCalls.length = 0;
    harness.fake.fail({ path: /^\/repos\/octo-org\/mirror\/actions\/secrets\/public-key$/, status: 403, times: 10 });
    await assert.rejects(harness.service.rotateDeployKey('shop', caller()), (error: Error) => {
      assert.match(error.message, /installed and pushed to octo-org\/shop, octo-org\/shop \(production\), but pushing it failed for octo-org\/mirror/);
      assert.match(error.message, /The old key stays installed/);
      assert.match(error.message, /`zavhoz github push-secrets --repo octo-org\/mirror --project shop`/);
      return true;
    });
    assert.deepEqual(harness.ciKeyCalls, [{ project: 'shop', server: 'prod_vps_1', rotate: true, retired: false }], 'the old key is not retired');
  });
});
