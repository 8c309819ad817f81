import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DEPLOY_SECRET_NAMES } from '../../daemon/protocol/github.js';
import { type GithubHarness, caller, handle, multiLineKey, startGithubHarness } from './githubSupport.js';

describe('GitHub sealed secrets: what arrives', () => {
  let harness: GithubHarness;
  const sshKey = multiLineKey();

  before(async () => {
    harness = await startGithubHarness();
    harness.fake.createRepository('octo-org/shop', { environments: ['production'] });
    // The project's CI key (what CI gets); the server's own key is another secret that must never be pushed.
    harness.vault.set(handle('cikey'), sshKey.replace(/\n/g, '\r\n'));
    harness.vault.set(handle('sshkey'), multiLineKey());
    harness.targets.set('shop', { server: 'prod_vps_1', host: '203.0.113.7', sshUser: 'deploy', sshPort: 2222, sshKeyHandle: handle('sshkey') });
  });
  after(async () => {
    await harness.dispose();
  });

  test('deploy secrets arrive exactly: the multi-line key intact with CRLF normalised, one key fetch for the batch', async () => {
    harness.fake.resetCounters();
    const result = await harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'shop', use: caller('req-deploy-1') });

    const plain = (name: string): string | undefined => harness.fake.plaintext('octo-org/shop', name);
    assert.equal(plain('DEPLOY_HOST'), '203.0.113.7');
    assert.equal(plain('DEPLOY_USER'), 'zd-shop', 'the project\'s scoped deploy user, not the server\'s SSH user');
    assert.equal(plain('DEPLOY_SSH_KEY'), sshKey);
    assert.ok(plain('DEPLOY_SSH_KEY')?.includes('\n') && !plain('DEPLOY_SSH_KEY')?.includes('\r'));
    assert.equal(plain('DEPLOY_PORT'), '2222');
    assert.equal(plain('DEPLOY_PROJECT_PATH'), '/opt/services/shop');
    assert.equal(plain('DEPLOY_COMPOSE_FILES'), 'infra/compose.base.yml infra/compose.prod.yml');
    assert.equal(harness.fake.keyFetches('octo-org/shop'), 1);

    assert.deepEqual(result.pushed.map((secret) => secret.name).sort(), [...DEPLOY_SECRET_NAMES].sort());
    assert.ok(result.pushed.every((secret) => secret.status === 'created'));
    assert.equal(result.pushed.find((secret) => secret.name === 'DEPLOY_SSH_KEY')?.source, handle('cikey'));
    assert.equal(plain('DEPLOY_KNOWN_HOSTS'), '[203.0.113.7]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheTestServer');
    assert.ok(!harness.vault.loans.some((loan) => loan.handle === handle('sshkey')), 'the server\'s own key is never read for GitHub');
    assert.deepEqual(harness.ciKeyCalls.at(-1), { project: 'shop', server: 'prod_vps_1', rotate: false, retired: true });
    assert.ok(harness.fake.requests.every((request) => request.zavhozRequestId === 'req-deploy-1'), 'our request id travels with every call');
  });

  test('the push is audited with repo, names, handles and request ids, never a value', async () => {
    const entry = (await harness.audit.list({ subject: 'github:octo-org/shop' })).find((record) => record.requestId === 'req-deploy-1');
    assert.ok(entry, 'an audit entry for the push');
    assert.equal(entry.action, 'github-push');
    assert.equal(entry.detail.repo, 'octo-org/shop');
    assert.deepEqual([...(entry.detail.names as string[])].sort(), [...DEPLOY_SECRET_NAMES].sort());
    assert.deepEqual(entry.detail.handles, [handle('cikey')]);
    assert.equal((entry.detail.githubRequestIds as string[]).length, DEPLOY_SECRET_NAMES.length);
    const everything = JSON.stringify(await harness.audit.list({ limit: 1000 }));
    for (const line of sshKey.split('\n').filter((part) => part.length > 20)) assert.ok(!everything.includes(line));
    assert.ok(!everything.includes('203.0.113.7\n'));
  });

  test('a second push updates in place, tells clients, and a loan is recorded for the key only', async () => {
    harness.fake.resetCounters();
    const loansBefore = harness.vault.loans.length;
    harness.notifications.length = 0;
    const result = await harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'shop', use: caller() });
    assert.ok(result.pushed.every((secret) => secret.status === 'updated'));
    assert.equal(harness.fake.keyFetches('octo-org/shop'), 1);
    const loans = harness.vault.loans.slice(loansBefore).filter((loan) => loan.action === 'github-push');
    assert.equal(loans.length, 1);
    assert.equal(loans[0]?.use.detail?.name, 'DEPLOY_SSH_KEY');
    assert.deepEqual(harness.notifications.map((notification) => notification.method), ['github/didChange']);
  });

  test('a large batch fetches the key once and never has more than the pool size in flight', async () => {
    const batch = Array.from({ length: 40 }, (_, index) => ({ name: `BULK_${index}`, handle: handle(`bulk${String(index).padStart(4, 'a')}`) }));
    for (const [index, secret] of batch.entries()) harness.vault.set(secret.handle, `value-${index}-${'x'.repeat(index)}`);
    harness.fake.resetCounters();
    harness.fake.latencyMs = 15;
    try {
      await harness.service.setSecrets({ repo: 'octo-org/shop', secrets: batch, use: caller() });
    } finally {
      harness.fake.latencyMs = 0;
    }
    assert.equal(harness.fake.keyFetches('octo-org/shop'), 1);
    assert.ok(harness.fake.maxInFlight <= 4, `at most 4 requests at once, saw ${harness.fake.maxInFlight}`);
    assert.ok(harness.fake.maxInFlight >= 2, 'the batch is sent concurrently');
    for (const [index, secret] of batch.entries()) assert.equal(harness.fake.plaintext('octo-org/shop', secret.name), `value-${index}-${'x'.repeat(index)}`);
  });

  test('a key rotated mid-batch (422 for the stale key id) is fetched again once and every value still arrives', async () => {
    const batch = Array.from({ length: 10 }, (_, index) => ({ name: `ROTATED_${index}`, handle: handle(`rot${String(index).padStart(5, 'a')}`) }));
    for (const [index, secret] of batch.entries()) harness.vault.set(secret.handle, `rotated-value-${index}`);
    harness.fake.resetCounters();
    harness.fake.rotateKeyAfterNextFetch('octo-org/shop');
    await harness.service.setSecrets({ repo: 'octo-org/shop', secrets: batch, use: caller() });
    assert.equal(harness.fake.keyFetches('octo-org/shop'), 2, 'one fetch, one refetch after the 422s');
    assert.ok(harness.fake.seen('PUT', /ROTATED_/).some((request) => request.status === 422));
    for (const [index, secret] of batch.entries()) assert.equal(harness.fake.plaintext('octo-org/shop', secret.name), `rotated-value-${index}`);
  });

  test('environment secrets use the environment key and land in the environment only', async () => {
    harness.vault.set(handle('envtoken'), 'environment-only-value');
    harness.fake.resetCounters();
    await harness.service.setSecret({ repo: 'octo-org/shop', name: 'bot_token', handle: handle('envtoken'), environment: 'production', use: caller() });
    assert.equal(harness.fake.plaintext('octo-org/shop', 'BOT_TOKEN', 'production'), 'environment-only-value');
    assert.equal(harness.fake.plaintext('octo-org/shop', 'BOT_TOKEN'), undefined);
    assert.equal(harness.fake.keyFetches('octo-org/shop', 'production'), 1);
    assert.equal(harness.fake.keyFetches('octo-org/shop'), 0);
  });

  test('the deploy pipeline can name the server it deployed to; without one the inventory must know the project', async () => {
    const target = { server: 'prod_vps_9', host: '192.0.2.10', sshUser: 'ci', sshPort: 22, sshKeyHandle: handle('sshkey') };
    await harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'unlisted', target, environment: 'production', use: caller() });
    assert.equal(harness.fake.plaintext('octo-org/shop', 'DEPLOY_HOST', 'production'), '192.0.2.10');
    assert.equal(harness.fake.plaintext('octo-org/shop', 'DEPLOY_PROJECT_PATH', 'production'), '/opt/services/unlisted');
    await assert.rejects(harness.service.pushDeploySecrets({ repo: 'octo-org/shop', project: 'unlisted', use: caller() }), /A server for project unlisted not found/);
  });

  test('bad input is refused before anything is sent', async () => {
    harness.fake.resetCounters();
    await assert.rejects(harness.service.setSecret({ repo: 'octo-org/shop', name: 'GITHUB_TOKEN', handle: handle('envtoken'), use: caller() }), /reserves the GITHUB_ prefix/);
    await assert.rejects(harness.service.setSecret({ repo: 'not-a-repo', name: 'X', handle: handle('envtoken'), use: caller() }), /OWNER\/NAME/);
    await assert.rejects(harness.service.setSecret({ repo: 'octo-org/shop', name: 'X', handle: handle('nothere'), use: caller() }), /sec_notherea not found/);
    harness.vault.set(handle('huge'), 'x'.repeat(49 * 1024));
    await assert.rejects(harness.service.setSecret({ repo: 'octo-org/shop', name: 'HUGE', handle: handle('huge'), use: caller() }), /up to 49152 bytes/);
    assert.equal(harness.fake.seen('PUT', /./).length, 0);
  });

  test('nothing secret is written to the log', () => {
    const log = fs.readFileSync(harness.logFile, 'utf8');
    assert.ok(log.includes('GitHub secrets pushed'), 'the pushes were logged');
    for (const value of [sshKey, 'environment-only-value', 'rotated-value-3', 'TestTokenForTheFakeGithub']) {
      assert.ok(!log.includes(value), `log contains ${value.slice(0, 12)}…`);
    }
    for (const line of sshKey.split('\n').filter((part) => part.length > 20)) assert.ok(!log.includes(line));
  });
});
