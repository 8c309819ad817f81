/**
 * GitHub sealed secrets end to end: a real daemon process, the real vault on a private keychain, a real sshd that
 * the server's key opens (so the inventory and allocation are real too), and the fake GitHub API (test double) on
 * loopback, which opens every sealed value with its private key so the test can compare it with the vault.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import type { GithubPushResult, GithubStatusResult } from '../../daemon/protocol/github.js';
import { cliJson, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';
import { FakeGithub, secondaryRateLimit } from '../fakes/github.js';
import { deployUserOf } from '../../daemon/cikey/remote.js';
import { removeCiDeployUser } from '../harness/ciDeployUsers.js';

const repo = 'octo-org/shop';
const token = 'ghp_IntegrationTokenForTheFakeGithub42';
const apiToken = 'api-token-integration-value-0042';
/** A project name of this run's own: pushing creates its CI deploy user on this machine (removed in the end). */
const project = `shop-${crypto.randomBytes(3).toString('hex')}`;

describe('zavhoz github: sealed Actions secrets through the daemon', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  let github: FakeGithub;
  let sshKeyHandle: string;
  let apiTokenHandle: string;
  let appKey: string;

  before(async () => {
    keyring = await startKeyring();
    sshd = await startSshd();
    github = await FakeGithub.start();
    github.createRepository(repo, { environments: ['production'] });
    github.addToken(token, [repo]);
    daemon = await startTestDaemon({ env: keyring.env });
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    await cliJson(daemon, ['config', 'set', 'githubApiBase', github.url]);
    const tokenSecret = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'GITHUB_TOKEN', '--type', 'token', '--category', 'github'], token);
    await cliJson(daemon, ['config', 'set', 'githubTokenSecret', tokenSecret.handle]);
    // Stored with Windows line ends: GitHub must receive it with LF only.
    const key = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'PROD_SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem.replace(/\n/g, '\r\n'));
    sshKeyHandle = key.handle;
    apiTokenHandle = (await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'API_TOKEN', '--type', 'token'], apiToken)).handle;
    await cliJson(daemon, [
      'server', 'add', 'prod_vps_1', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', sshKeyHandle,
    ]);
    await cliJson(daemon, ['server', 'check', 'prod_vps_1']);
    await cliJson(daemon, ['allocate', '--project', project]);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    removeCiDeployUser(project);
    await daemon?.dispose();
    await github?.stop();
    await sshd?.stop();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('push-secrets sends the deploy secrets sealed; GitHub opens exactly the vault values', async () => {
    const result = await cliJson<GithubPushResult>(daemon, ['github', 'push-secrets', '--repo', repo, '--project', project]);
    assert.deepEqual(result.pushed.map((secret) => secret.name).sort(), [
      'DEPLOY_COMPOSE_FILES', 'DEPLOY_HOST', 'DEPLOY_KNOWN_HOSTS', 'DEPLOY_PORT', 'DEPLOY_PROJECT_PATH', 'DEPLOY_SSH_KEY', 'DEPLOY_USER',
    ]);
    // The project's scoped CI key and user (ci-key.test.ts shows what they can do); the server's key stays here.
    assert.match(github.plaintext(repo, 'DEPLOY_SSH_KEY') ?? '', /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
    assert.notEqual(github.plaintext(repo, 'DEPLOY_SSH_KEY'), sshd.clientKey.privateKeyPem);
    assert.equal(github.plaintext(repo, 'DEPLOY_HOST'), sshd.host);
    assert.equal(github.plaintext(repo, 'DEPLOY_USER'), deployUserOf(project));
    assert.equal(github.plaintext(repo, 'DEPLOY_PORT'), String(sshd.port));
    assert.equal(github.plaintext(repo, 'DEPLOY_PROJECT_PATH'), `/opt/services/${project}`);
    assert.equal(github.plaintext(repo, 'DEPLOY_COMPOSE_FILES'), 'infra/compose.base.yml infra/compose.prod.yml');
    assert.equal(github.keyFetches(repo), 1);
    assert.ok(!JSON.stringify(result).includes(sshd.clientKey.privateKeyPem.split('\n')[1] ?? '-'), 'the answer holds no key material');
  });

  test('set-secret seals one vault secret for an environment; the human output names, never values', async () => {
    const result = await daemon.cli(['github', 'set-secret', '--repo', repo, 'API_TOKEN', '--from', apiTokenHandle, '--env', 'production']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Pushed 1 secret\(s\) to octo-org\/shop \(environment production\)/);
    assert.ok(!result.stdout.includes(apiToken));
    assert.equal(github.plaintext(repo, 'API_TOKEN', 'production'), apiToken);
  });

  test('a secondary rate limit is waited out and the push still succeeds', async () => {
    github.resetCounters();
    github.fail({ method: 'PUT', path: /DEPLOY_HOST$/, times: 1, ...secondaryRateLimit(1) });
    await cliJson<GithubPushResult>(daemon, ['github', 'push-secrets', '--repo', repo, '--project', project]);
    const [refused, retried] = github.seen('PUT', /DEPLOY_HOST$/);
    assert.equal(refused?.status, 403);
    assert.equal(retried?.status, 204);
    assert.ok(retried.receivedAt - refused.answeredAt >= 990, 'retry-after was honoured');
  });

  test('status lists GitHub\'s secrets beside the push records and flags drift', async () => {
    let status = await cliJson<GithubStatusResult>(daemon, ['github', 'status', '--repo', repo]);
    assert.equal(status.drift, false, JSON.stringify(status.secrets));
    assert.ok(status.secrets.every((secret) => secret.state === 'in-sync' && secret.zavhoz?.fingerprint.startsWith('hmac-sha256:')));

    github.writeOutside(repo, 'DEPLOY_USER', 'intruder', new Date(Date.now() + 5000));
    github.deleteSecret(repo, 'DEPLOY_PORT');
    status = await cliJson<GithubStatusResult>(daemon, ['github', 'status', '--repo', repo]);
    assert.equal(status.drift, true);
    assert.equal(status.secrets.find((secret) => secret.name === 'DEPLOY_USER')?.state, 'stale');
    assert.equal(status.secrets.find((secret) => secret.name === 'DEPLOY_PORT')?.state, 'missing');

    const human = await daemon.cli(['github', 'status', '--repo', repo]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /DEPLOY_PORT\s+missing/);
    assert.match(human.stdout, /Drift: 1 missing, 1 stale/);
  });

  test('every push is in the audit log with repo, names, handles and request id', async () => {
    const entries = await cliJson<{ action: string; requestId: string; detail: Record<string, unknown> }[]>(daemon, ['audit', 'list', '--subject', `github:${repo}`]);
    const pushes = entries.filter((entry) => entry.action === 'github-push');
    assert.ok(pushes.length >= 3);
    const deploy = pushes.find((entry) => (entry.detail.names as string[]).includes('DEPLOY_SSH_KEY'));
    assert.ok(deploy);
    const ciKey = (await cliJson<{ name: string; handle: string; project: string | null }[]>(daemon, ['secret', 'list', '--project', project])).find(
      (secret) => secret.name === 'CI_DEPLOY_KEY' && secret.project === project,
    );
    assert.ok(ciKey, "the project's CI deploy key is in the vault");
    assert.deepEqual(deploy.detail.handles, [ciKey.handle], "the project's CI key was pushed, not the server's");
    assert.notEqual(ciKey.handle, sshKeyHandle);
    assert.equal(deploy.detail.repo, repo);
    assert.match(deploy.requestId, /^cli-/);
  });

  test('a revoked token: a clear error naming the handle, exit code 1', async () => {
    const revoked = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'OLD_GITHUB_TOKEN', '--type', 'token'], 'ghp_RevokedTokenNobodyKnows');
    await cliJson(daemon, ['config', 'set', 'githubTokenSecret', revoked.handle]);
    try {
      const result = await daemon.cli(['github', 'push-secrets', '--repo', repo, '--project', project]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /GitHub refused the token in sec_\w+ \(setting githubTokenSecret\) \(401 Bad credentials\)/);
      assert.match(result.stderr, /\[AuthenticationFailed\]/);
    } finally {
      const current = await cliJson<{ handle: string }[]>(daemon, ['secret', 'list']);
      const good = current.find((secret) => (secret as { name?: string }).name === 'GITHUB_TOKEN');
      if (good) await cliJson(daemon, ['config', 'set', 'githubTokenSecret', good.handle]);
    }
  });

  test('a GitHub App: the daemon signs the JWT, gets an installation token, and pushes with it', async () => {
    appKey = github.createApp(9001, { 'octo-org': 31337 });
    const key = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'GITHUB_APP_KEY', '--type', 'private_key', '--category', 'github'], appKey);
    await cliJson(daemon, ['config', 'set', 'githubAppId', '9001']);
    await cliJson(daemon, ['config', 'set', 'githubAppKeySecret', key.handle]);
    github.resetCounters();
    await cliJson<GithubPushResult>(daemon, ['github', 'set-secret', '--repo', repo, 'FROM_APP', '--from', apiTokenHandle]);
    assert.equal(github.plaintext(repo, 'FROM_APP'), apiToken);
    assert.deepEqual(github.seen('POST', /access_tokens$/).map((request) => request.auth), ['bearer jwt']);
    assert.deepEqual(github.seen('PUT', /FROM_APP$/).map((request) => request.auth), ['token installation']);
  });

  test('nothing secret reaches the daemon log, the store or the journal', () => {
    const paths = dataPaths(daemon.home);
    const files = [paths.log, paths.database, paths.journal].filter((file) => fs.existsSync(file));
    const secrets = [
      token,
      apiToken,
      ...github.installationTokens,
      ...sshd.clientKey.privateKeyPem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
      ...appKey.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
    ];
    for (const file of files) {
      const text = fs.readFileSync(file, 'latin1');
      for (const secret of secrets) assert.ok(!text.includes(secret), `${file} contains ${secret.slice(0, 10)}…`);
    }
    const log = fs.readFileSync(paths.log, 'utf8');
    const githubLines = log.split('\n').filter((line) => line.includes('"component":"github"'));
    assert.ok(githubLines.length > 0);
    assert.ok(githubLines.every((line) => !line.includes('[REDACTED]')), 'the GitHub code never even tried to log a value');
  });
});
