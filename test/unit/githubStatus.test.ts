import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { GithubSecretStatus } from '../../daemon/protocol/github.js';
import { type GithubHarness, caller, handle, multiLineKey, startGithubHarness } from './githubSupport.js';

const repo = 'octo-org/drift';

describe('GitHub drift: what GitHub holds beside what Zavhoz pushed', () => {
  let harness: GithubHarness;
  const byName = (secrets: readonly GithubSecretStatus[], name: string): GithubSecretStatus => {
    const found = secrets.find((secret) => secret.name === name);
    assert.ok(found, `${name} is listed`);
    return found;
  };

  before(async () => {
    harness = await startGithubHarness();
    harness.fake.createRepository(repo);
    harness.vault.set(handle('cikey'), multiLineKey());
    harness.vault.set(handle('apitoken'), 'api-token-value-1');
    harness.targets.set('shop', { server: 'prod_vps_1', host: '198.51.100.4', sshUser: 'root', sshPort: 22, sshKeyHandle: handle('sshkey') });
    await harness.service.pushDeploySecrets({ repo, project: 'shop', use: caller() });
    await harness.service.setSecret({ repo, name: 'API_TOKEN', handle: handle('apitoken'), use: caller() });
    harness.fake.writeOutside(repo, 'SOMEONE_ELSES', 'made in the web UI');
  });
  after(async () => {
    await harness.dispose();
  });

  test('right after a push everything Zavhoz pushed is in sync; other secrets are listed as unmanaged', async () => {
    const status = await harness.service.status({ repo, use: caller() });
    assert.equal(status.drift, false);
    for (const name of ['DEPLOY_HOST', 'DEPLOY_USER', 'DEPLOY_SSH_KEY', 'DEPLOY_PORT', 'DEPLOY_PROJECT_PATH', 'DEPLOY_COMPOSE_FILES', 'API_TOKEN']) {
      const secret = byName(status.secrets, name);
      assert.equal(secret.state, 'in-sync', `${name}: ${secret.reasons.join('; ')}`);
      assert.ok(secret.github?.updatedAt && secret.zavhoz?.pushedAt && secret.zavhoz.fingerprint.startsWith('hmac-sha256:'));
    }
    assert.equal(byName(status.secrets, 'SOMEONE_ELSES').state, 'unmanaged');
    assert.equal(byName(status.secrets, 'DEPLOY_SSH_KEY').zavhoz?.source, handle('cikey'));
  });

  test('changes on either side are flagged: edited on GitHub, deleted on GitHub, rotated in the vault, server moved', async () => {
    harness.fake.writeOutside(repo, 'DEPLOY_USER', 'someone-else', new Date(Date.now() + 5000));
    harness.fake.deleteSecret(repo, 'DEPLOY_PORT');
    harness.vault.set(handle('apitoken'), 'api-token-value-2');
    harness.targets.set('shop', { server: 'prod_vps_2', host: '198.51.100.99', sshUser: 'root', sshPort: 22, sshKeyHandle: handle('sshkey') });

    const status = await harness.service.status({ repo, use: caller() });
    assert.equal(status.drift, true);
    const user = byName(status.secrets, 'DEPLOY_USER');
    assert.equal(user.state, 'stale');
    assert.match(user.reasons.join(' '), /changed on GitHub/);
    const port = byName(status.secrets, 'DEPLOY_PORT');
    assert.equal(port.state, 'missing');
    assert.equal(port.github, undefined);
    const token = byName(status.secrets, 'API_TOKEN');
    assert.equal(token.state, 'stale');
    assert.match(token.reasons.join(' '), /changed in the vault/);
    const host = byName(status.secrets, 'DEPLOY_HOST');
    assert.equal(host.state, 'stale');
    assert.match(host.reasons.join(' '), /server details of shop changed/);
    assert.equal(byName(status.secrets, 'DEPLOY_PROJECT_PATH').state, 'in-sync');
  });

  test('a deleted vault secret makes its GitHub copy stale; a push brings everything back in sync', async () => {
    harness.vault.delete(handle('apitoken'));
    let status = await harness.service.status({ repo, use: caller() });
    assert.match(byName(status.secrets, 'API_TOKEN').reasons.join(' '), /sec_apitoken was deleted/);

    harness.vault.set(handle('apitoken'), 'api-token-value-3');
    await harness.service.pushDeploySecrets({ repo, project: 'shop', use: caller() });
    await harness.service.setSecret({ repo, name: 'API_TOKEN', handle: handle('apitoken'), use: caller() });
    status = await harness.service.status({ repo, use: caller() });
    assert.equal(status.drift, false, JSON.stringify(status.secrets.filter((secret) => secret.state !== 'in-sync' && secret.state !== 'unmanaged')));
    assert.equal(harness.fake.plaintext(repo, 'DEPLOY_HOST'), '198.51.100.99');
  });

  test('long lists are read across pages', async () => {
    harness.fake.createRepository('octo-org/many');
    for (let index = 0; index < 130; index++) harness.fake.writeOutside('octo-org/many', `LISTED_${String(index).padStart(3, '0')}`, 'x');
    const status = await harness.service.status({ repo: 'octo-org/many', use: caller() });
    assert.equal(status.secrets.length, 130);
    assert.ok(harness.fake.seen('GET', /\/repos\/octo-org\/many\/actions\/secrets$/).length >= 2);
  });
});
