import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { type GithubHarness, caller, handle, startGithubHarness } from './githubSupport.js';

const repo = 'octo-org/app-repo';

describe('GitHub App authentication', () => {
  let harness: GithubHarness;
  let appKey: string;

  before(async () => {
    harness = await startGithubHarness();
    harness.fake.createRepository(repo);
    harness.fake.createRepository('stranger/elsewhere');
    appKey = harness.fake.createApp(4242, { 'octo-org': 77 });
    harness.vault.set(handle('appkey'), appKey);
    harness.vault.set(handle('value'), 'pushed-through-the-app');
  });
  after(async () => {
    await harness.dispose();
  });
  beforeEach(() => {
    harness.fake.resetCounters();
    harness.connection.appId = 4242;
    harness.connection.appKeySecret = handle('appkey');
  });

  test('the App signs a JWT GitHub verifies, gets an installation token for the owner, and the PUT carries it', async () => {
    await harness.service.setSecret({ repo, name: 'VIA_APP', handle: handle('value'), use: caller() });
    assert.equal(harness.fake.plaintext(repo, 'VIA_APP'), 'pushed-through-the-app');
    const auth = (method: string, path: RegExp): string[] => harness.fake.seen(method, path).map((request) => request.auth);
    assert.deepEqual(auth('GET', /\/repos\/octo-org\/app-repo\/installation$/), ['bearer jwt']);
    assert.deepEqual(auth('POST', /\/app\/installations\/77\/access_tokens$/), ['bearer jwt']);
    assert.deepEqual(auth('GET', /public-key$/), ['token installation']);
    assert.deepEqual(auth('PUT', /VIA_APP$/), ['token installation']);
    const loans = harness.vault.loans.filter((loan) => loan.action === 'github-app-auth');
    assert.ok(loans.length >= 1, 'the private key was lent by the vault, and audited there');
  });

  test('an App that is not installed for the owner gets a clear "install it" error', async () => {
    await assert.rejects(
      harness.service.setSecret({ repo: 'stranger/elsewhere', name: 'VIA_APP', handle: handle('value'), use: caller() }),
      (error: unknown) =>
        error instanceof ZavhozError &&
        error.code === ErrorCodes.PreconditionFailed &&
        /GitHub App 4242 is not installed for stranger\/elsewhere/.test(error.message),
    );
  });

  test('a private key that is not the App\'s: GitHub rejects the JWT and the error says what to check', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    harness.vault.set(handle('wrongkey'), other);
    harness.connection.appKeySecret = handle('wrongkey');
    await assert.rejects(
      harness.service.setSecret({ repo, name: 'VIA_APP', handle: handle('value'), use: caller() }),
      (error: unknown) => error instanceof ZavhozError && error.code === ErrorCodes.AuthenticationFailed && /rejected the JWT of GitHub App 4242/.test(error.message) && /sec_wrongkey/.test(error.message),
    );
    assert.equal(harness.fake.seen('PUT', /./).length, 0);
  });

  test('a stored value that is not an RSA key fails before any request, naming the handle', async () => {
    harness.vault.set(handle('garbage'), 'this is not a private key at all');
    harness.connection.appKeySecret = handle('garbage');
    await assert.rejects(
      harness.service.setSecret({ repo, name: 'VIA_APP', handle: handle('value'), use: caller() }),
      (error: unknown) => error instanceof ZavhozError && error.code === ErrorCodes.AuthenticationFailed && /sec_garbage/.test(error.message),
    );
    assert.equal(harness.fake.requests.length, 0);
  });

  test('neither the App key nor an installation token reaches the log', () => {
    const log = fs.readFileSync(harness.logFile, 'utf8');
    assert.ok(log.includes('installation token issued'));
    assert.ok(harness.fake.installationTokens.length >= 1);
    for (const token of harness.fake.installationTokens) assert.ok(!log.includes(token));
    for (const line of appKey.split('\n').filter((part) => part.length > 20)) assert.ok(!log.includes(line));
    assert.ok(!log.includes('pushed-through-the-app'));
  });
});
