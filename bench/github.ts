/**
 * GitHub sealed secrets: pushing 100 secrets to the fake GitHub API (test double) with 20 ms added to every answer,
 * the way Zavhoz does it (public key fetched once per batch, a pool of 4 requests in flight) against the naive way
 * (key fetched for every secret, one secret at a time). Both seal with libsodium and go through the same Octokit
 * client with the same retry and throttling plugins, so the difference is the batching alone.
 */
import { createGithubClient, RateLimitGate } from '../daemon/github/client.js';
import { parseRepository } from '../daemon/github/names.js';
import { fetchPublicKey } from '../daemon/github/publicKeys.js';
import { decodePublicKey, sealValue } from '../daemon/github/seal.js';
import { DEFAULT_PUSH_CONCURRENCY } from '../daemon/github/service.js';
import { caller, handle, startGithubHarness, TEST_TOKEN } from '../test/unit/githubSupport.js';
import { type BenchSection, formatMs, ratioRow } from './report.js';
import { median, timeAsync } from './stats.js';

const SECRETS = 100;
const LATENCY_MS = 20;
const ROUNDS = 3;
const REPO = 'bench-org/bench-repo';

/** Runs the GitHub section of `npm run bench`. */
export async function benchGithub(): Promise<BenchSection> {
  const harness = await startGithubHarness();
  const serial = await startGithubHarness({ concurrency: 1 });
  try {
    const secrets = Array.from({ length: SECRETS }, (_, index) => ({ name: `BENCH_${index}`, handle: handle(`b${String(index).padStart(7, 'a')}`) }));
    for (const target of [harness, serial]) {
      target.fake.createRepository(REPO);
      target.fake.latencyMs = LATENCY_MS;
      for (const [index, secret] of secrets.entries()) target.vault.set(secret.handle, `bench-value-${index}\nsecond line ${index}`);
    }
    const repository = parseRepository(REPO);
    const naiveApi = createGithubClient({
      baseUrl: harness.fake.url,
      auth: TEST_TOKEN,
      requestId: 'bench-naive',
      log: harness.log,
      gate: new RateLimitGate(),
    });

    const ours = (): Promise<number> => timeAsync(() => harness.service.setSecrets({ repo: REPO, secrets, use: caller() }));
    const oneKeySerial = (): Promise<number> => timeAsync(() => serial.service.setSecrets({ repo: REPO, secrets, use: caller() }));
    const naive = (): Promise<number> =>
      timeAsync(async () => {
        for (const [index, secret] of secrets.entries()) {
          const raw = await fetchPublicKey(naiveApi, { repository });
          const sealed = await sealValue(`bench-value-${index}\nsecond line ${index}`, await decodePublicKey(raw.keyId, raw.key));
          await naiveApi.rest.actions.createOrUpdateRepoSecret({
            owner: repository.owner,
            repo: repository.name,
            secret_name: secret.name,
            encrypted_value: sealed.encryptedValue,
            key_id: sealed.keyId,
          });
        }
      });

    const oursTimes: number[] = [];
    const serialTimes: number[] = [];
    const naiveTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      oursTimes.push(await ours());
      serialTimes.push(await oneKeySerial());
      naiveTimes.push(await naive());
    }
    for (const [index, secret] of secrets.entries()) {
      if (harness.fake.plaintext(REPO, secret.name) !== `bench-value-${index}\nsecond line ${index}`) throw new Error(`${secret.name} did not arrive intact`);
    }
    const naiveMedian = median(naiveTimes);
    // What the retry and throttling plugins cost per request (their Bottleneck queues yield on timers), measured
    // against a bare fetch of the same endpoint at the same added latency.
    const keyUrl = `${harness.fake.url}/repos/${REPO}/actions/secrets/public-key`;
    const bare = await timeAsync(async () => {
      for (let index = 0; index < 20; index++) await (await fetch(keyUrl, { headers: { authorization: `token ${TEST_TOKEN}` } })).json();
    });
    const client = await timeAsync(async () => {
      for (let index = 0; index < 20; index++) await fetchPublicKey(naiveApi, { repository });
    });
    return {
      title: `github: ${SECRETS} sealed secrets, ${LATENCY_MS} ms added latency (median of ${ROUNDS})`,
      rows: [
        ratioRow(`one key fetch, pool of ${DEFAULT_PUSH_CONCURRENCY} vs naive (key per secret, serial)`, median(oursTimes), naiveMedian, 0.2),
        ratioRow('one key fetch, serial vs naive', median(serialTimes), naiveMedian),
        { name: 'naive per secret', value: formatMs(naiveMedian / SECRETS) },
        { name: `ours per secret`, value: formatMs(median(oursTimes) / SECRETS) },
        { name: 'Octokit + retry/throttling overhead per request', value: formatMs((client - bare) / 20) },
      ],
    };
  } finally {
    await harness.dispose();
    await serial.dispose();
  }
}

