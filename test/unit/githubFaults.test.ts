import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { primaryRateLimit, secondaryRateLimit } from '../fakes/github.js';
import { type GithubHarness, caller, handle, startGithubHarness } from './githubSupport.js';

const repo = 'octo-org/faults';

/** Asserts a rejection is a ZavhozError with `code` whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, code: number, ...patterns: RegExp[]): Promise<ZavhozError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ZavhozError, `a ZavhozError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('GitHub faults: rate limits, server errors, credentials', () => {
  let harness: GithubHarness;
  const batch = Array.from({ length: 12 }, (_, index) => ({ name: `FAULT_${index}`, handle: handle(`flt${String(index).padStart(5, 'a')}`) }));

  before(async () => {
    harness = await startGithubHarness();
    harness.fake.createRepository(repo);
    for (const [index, secret] of batch.entries()) harness.vault.set(secret.handle, `fault-value-${index}`);
  });
  after(async () => {
    await harness.dispose();
  });
  beforeEach(() => {
    harness.fake.resetCounters();
    harness.fake.clearFaults();
    harness.connection.tokenSecret = handle('token');
  });

  test('a secondary rate limit is waited out as retry-after says, and the whole batch pauses with it', async () => {
    const large = Array.from({ length: 40 }, (_, index) => ({ name: `PAUSE_${index}`, handle: handle(`pse${String(index).padStart(5, 'a')}`) }));
    for (const [index, secret] of large.entries()) harness.vault.set(secret.handle, `pause-value-${index}`);
    harness.fake.fail({ method: 'PUT', path: /PAUSE_2$/, times: 1, ...secondaryRateLimit(1) });
    await harness.service.setSecrets({ repo, secrets: large, use: caller() });
    for (const [index, secret] of large.entries()) assert.equal(harness.fake.plaintext(repo, secret.name), `pause-value-${index}`);

    const limited = harness.fake.seen('PUT', /PAUSE_2$/);
    assert.deepEqual(limited.map((request) => request.status), [403, 201]);
    const [refused, retried] = limited;
    assert.ok(refused && retried);
    assert.ok(retried.receivedAt - refused.answeredAt >= 990, `retried after ${retried.receivedAt - refused.answeredAt} ms, retry-after was 1 s`);
    // Requests already under way when the limit arrived may still land (a few per worker at most); without the
    // shared pause the other workers would send the rest of the 40 during that second.
    const duringPause = harness.fake.requests.filter((request) => request.receivedAt > refused.answeredAt && request.receivedAt < refused.answeredAt + 990);
    assert.ok(duringPause.length <= 8, `${duringPause.length} requests sent during the pause`);
    assert.ok(harness.fake.requests.filter((request) => request.receivedAt >= refused.answeredAt + 990).length >= 30, 'the rest went after the pause');
  });

  test('a primary rate limit (429, x-ratelimit-remaining 0) is waited out until x-ratelimit-reset', async () => {
    const fault = primaryRateLimit(1);
    harness.fake.fail({ method: 'PUT', path: /FAULT_0$/, times: 1, ...fault });
    await harness.service.setSecret({ repo, name: 'FAULT_0', handle: batch[0]?.handle ?? '', use: caller() });
    const [refused, retried] = harness.fake.seen('PUT', /FAULT_0$/);
    assert.equal(refused?.status, 429);
    assert.ok(retried && retried.status < 300, 'the retry succeeded');
    const reset = Number(fault.headers?.['x-ratelimit-reset']) * 1000;
    assert.ok(retried.receivedAt >= reset, 'not retried before the reset time');
  });

  test('a rate limit asking for longer than Zavhoz waits fails at once and says when to try again', async () => {
    harness.fake.fail({ method: 'PUT', path: /FAULT_/, times: 20, ...secondaryRateLimit(3600) });
    const error = await rejectsWith(harness.service.setSecrets({ repo, secrets: batch, use: caller() }), ErrorCodes.RateLimited, /rate-limited/, /try again in 3600 s/);
    assert.deepEqual((error.data?.pushed as string[]).length, 0);
    assert.ok(harness.fake.seen('PUT', /FAULT_/).length <= 4, 'the batch stopped instead of trying every secret');
  });

  test('a 5xx is retried with backoff and the value arrives', async () => {
    harness.fake.fail({ method: 'PUT', path: /FAULT_3$/, times: 1, status: 502 });
    await harness.service.setSecret({ repo, name: 'FAULT_3', handle: batch[3]?.handle ?? '', use: caller() });
    const [failed, retried] = harness.fake.seen('PUT', /FAULT_3$/);
    assert.equal(failed?.status, 502);
    assert.ok(retried && retried.status < 300, 'the retry succeeded');
    assert.equal(harness.fake.plaintext(repo, 'FAULT_3'), 'fault-value-3');
  });

  test('a 5xx that persists ends after a bounded number of retries with a clear error', async () => {
    harness.fake.fail({ method: 'PUT', path: /FAULT_4$/, times: 100, status: 503 });
    await rejectsWith(harness.service.setSecret({ repo, name: 'FAULT_4', handle: batch[4]?.handle ?? '', use: caller() }), ErrorCodes.ProviderError, /kept failing \(503/, /try again later/);
    assert.equal(harness.fake.seen('PUT', /FAULT_4$/).length, 4, 'one try and three retries');
  });

  test('a wrong token: 401 names the handle and the setting, and nothing else is sent', async () => {
    harness.vault.set(handle('badtoken'), 'ghp_NotATokenTheFakeKnows');
    harness.connection.tokenSecret = handle('badtoken');
    await rejectsWith(
      harness.service.setSecrets({ repo, secrets: batch, use: caller() }),
      ErrorCodes.AuthenticationFailed,
      /401 Bad credentials/,
      /sec_badtoken/,
      /githubTokenSecret/,
    );
    assert.equal(harness.fake.requests.length, 1, 'only the key fetch');
  });

  test('a repository the token cannot see: 404 explains that GitHub hides it', async () => {
    harness.fake.addToken('ghp_OnlyForAnotherRepository', ['octo-org/other']);
    harness.vault.set(handle('othertok'), 'ghp_OnlyForAnotherRepository');
    harness.connection.tokenSecret = handle('othertok');
    await rejectsWith(harness.service.setSecret({ repo, name: 'X1', handle: batch[0]?.handle ?? '', use: caller() }), ErrorCodes.NotFound, /404/, /cannot see it/);
  });

  test('a 403 without rate limit says which permission the token needs, and the batch stops', async () => {
    harness.fake.fail({ method: 'PUT', path: /FAULT_/, times: 100, status: 403, body: { message: 'Resource not accessible by personal access token' } });
    await rejectsWith(
      harness.service.setSecrets({ repo, secrets: batch, use: caller() }),
      ErrorCodes.AuthenticationFailed,
      /Resource not accessible by personal access token/,
      /Secrets: Read and write/,
    );
    assert.ok(harness.fake.seen('PUT', /FAULT_/).length <= 4);
  });

  test('no credentials configured: a precondition error saying how to set them', async () => {
    harness.connection.tokenSecret = null;
    await rejectsWith(harness.service.setSecret({ repo, name: 'X1', handle: batch[0]?.handle ?? '', use: caller() }), ErrorCodes.PreconditionFailed, /githubTokenSecret/);
    assert.equal(harness.fake.requests.length, 0);
  });

  test('cancel during a long rate-limit wait answers at once, and no request follows', async () => {
    // Short enough that the test process is not kept alive long by Octokit's pending retry timer.
    harness.fake.fail({ method: 'PUT', path: /FAULT_/, times: 100, ...secondaryRateLimit(6) });
    const controller = new AbortController();
    const started = Date.now();
    const pushing = harness.service.setSecrets({ repo, secrets: batch, use: { ...caller(), signal: controller.signal } });
    // Let the first wave land (every worker gets the limit, then the batch waits), then cancel. The wave has landed
    // once no request came for half a second: with 200 ms, a worker's request delayed that long on a loaded machine
    // (load 16) arrived after the cancel, and the test took it for a request sent after it.
    const sleep = (ms: number): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, ms));
    while (harness.fake.seen('PUT', /FAULT_/).length === 0) await sleep(10);
    let count = -1;
    while (count !== harness.fake.requests.length) {
      count = harness.fake.requests.length;
      await sleep(500);
    }
    controller.abort();
    await rejectsWith(pushing, ErrorCodes.RequestCancelled, /Cancelled/);
    assert.ok(Date.now() - started < 6_000, 'did not sit out the 6 s wait');
    const seen = harness.fake.requests.length;
    await sleep(200);
    assert.equal(harness.fake.requests.length, seen, 'nothing was sent after the cancel');
  });

  test('failed pushes are audited too, and no value reaches the log', async () => {
    const entries = await harness.audit.list({ subject: `github:${repo}`, limit: 100 });
    assert.ok(entries.some((entry) => (entry.detail.failed as string[]).length > 0));
    const log = fs.readFileSync(harness.logFile, 'utf8');
    assert.ok(log.includes('rate limit'), 'rate limits are logged');
    for (let index = 0; index < batch.length; index++) assert.ok(!log.includes(`fault-value-${index}`));
    assert.ok(!log.includes('NotATokenTheFakeKnows') && !log.includes('TestTokenForTheFakeGithub'));
  });
});
