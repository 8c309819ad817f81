/**
 * Releases end to end: what a successful deploy records (commit, image digests, secret versions), `zavhoz release
 * list|show`, pruning beyond `releasesKept`. A real daemon, keychain, sshd, ansible-playbook, git and the run's real
 * container engine and registry (deploy-support.ts); the firewall is the usual test double.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ReleaseDetail, ReleaseSummary } from '../../daemon/protocol/releases.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { versionAccountOf } from '../../daemon/vault/backend.js';
import { buildWebImage } from '../harness/images.js';
import { cliJson, deployAndWait, deployArguments, type RealDeployWorld, readDotenv, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';
import { keychainAccounts } from './vault-support.js';

describe('releases: recorded by every successful deploy, listed, shown and pruned', () => {
  let world: RealDeployWorld;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'release' });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  /** The fixture's image as its compose files name it (through the registry relay), pinned by the pushed digest. */
  const pinned = (): string => `${world.target.reference.replace(/:[^:/]+$/, '')}@${world.target.image.digest.split('@')[1] ?? ''}`;

  /** The page of the project's published port. */
  const page = async (port: number): Promise<string> => {
    const answer = await fetch(`http://${world.sshd.host}:${port}/`, { signal: AbortSignal.timeout(10_000) });
    return answer.text();
  };

  /** The running backend container of a project: its image's registry digests and its environment. */
  const backendOf = async (project: string): Promise<{ digests: string[]; env: string[] }> => {
    const { engine } = world.target;
    const filter = ['--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=backend'];
    const [id = ''] = (await engine.docker(['ps', '-q', ...filter])).stdout.split('\n').filter(Boolean);
    const [image = '', env = '[]'] = (await engine.docker(['inspect', '--format', '{{.Image}}|{{json .Config.Env}}', id])).stdout.trim().split('|');
    const digests = JSON.parse((await engine.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', image])).stdout) as string[];
    return { digests, env: JSON.parse(env) as string[] };
  };

  /** `zavhoz deploy … --wait --json` expected to fail: the run and the exit code. */
  const failingDeploy = async (project: string, extra: readonly string[]): Promise<RunDetail> => {
    const result = await world.daemon.cli([...deployArguments(world, project, extra), '--wait', '--json']);
    assert.equal(result.code, 1, `the deploy with ${extra.join(' ')} fails: ${result.stderr}${result.stdout.slice(0, 2000)}`);
    return JSON.parse(result.stdout) as RunDetail;
  };

  test('a deploy records release 1 with the commit, each service\'s image digest, ports and secret handles; the CLI lists and shows it', async () => {
    const project = world.newProject('rel');
    await storeUserSecrets(world, project);
    const { run } = await deployAndWait(world, project);
    assert.match(run.releaseId ?? '', /^rel_[a-z2-7]{10}$/, 'the run names the release it recorded');
    assert.equal(run.kind, 'deploy');

    const releases = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]);
    assert.deepEqual(
      releases.map((release) => [release.id, release.number, release.kind, release.commit, release.runId, release.server]),
      [[run.releaseId, 1, 'deploy', world.repository.commit, run.id, world.server]],
    );
    const shown = await cliJson<ReleaseDetail>(world.daemon, ['release', 'show', run.releaseId ?? '']);
    assert.deepEqual(shown.images.map((image) => [image.service, image.digest]), [['backend', pinned()], ['db', pinned()]]);
    assert.deepEqual(shown.allocation.modulePorts, run.allocation?.modulePorts);
    assert.deepEqual(
      shown.secrets.map((secret) => secret.handle).sort(),
      [...new Set(run.plan?.variables.flatMap((variable) => (variable.handle ? [variable.handle] : [])))].sort(),
      'every secret the .env got, by handle',
    );
    const human = await world.daemon.cli(['release', 'show', run.releaseId ?? '']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`commit ${world.repository.commit}`));
    assert.ok(human.stdout.includes(pinned()), 'the human form shows the digest');
    for (const value of world.values.values()) assert.ok(!human.stdout.includes(value) && !JSON.stringify(shown).includes(value), 'no secret value');

    const listed = await world.daemon.cli(['release', 'list', '--project', project]);
    assert.match(listed.stdout, new RegExp(`^ +1  ${run.releaseId ?? ''} `, 'm'));
    const none = await world.daemon.cli(['release', 'list', '--project', 'never-deployed']);
    assert.match(none.stdout, /never-deployed has no release yet/);
    const rollback = await world.daemon.cli(['rollback', '--project', project]);
    assert.equal(rollback.code, 1);
    assert.match(rollback.stderr, /has one release \(1, rel_\w+\) and none before it to roll back to/);
  });

  test('releasesKept: the oldest releases go, and the vault drops the secret versions only they kept', async () => {
    const project = world.newProject('prune');
    const { apiToken } = await storeUserSecrets(world, project);
    await cliJson(world.daemon, ['config', 'set', 'releasesKept', '2']);
    try {
      const first = (await deployAndWait(world, project)).run;
      const token = first.plan?.variables.find((variable) => variable.name === 'API_TOKEN')?.handle ?? '';
      const versionAccounts = async (): Promise<string[]> =>
        (await keychainAccounts(world.keyring.env)).filter((account) => account.startsWith(`${token}@`)).sort();
      const values = [apiToken];
      const runs = [first];
      for (const round of [2, 3]) {
        const value = `api-round-${round}-${crypto.randomBytes(8).toString('hex')}`;
        await cliJson(world.daemon, ['secret', 'rotate', token], value);
        world.values.set(`${token}-v${round}`, value);
        values.push(value);
        runs.push((await deployAndWait(world, project)).run);
        if (round === 2) {
          // The deploy ended version 1's grace, but release 1 still holds it.
          assert.deepEqual(await versionAccounts(), [versionAccountOf(token, 1)]);
        }
      }
      const releases = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]);
      assert.deepEqual(releases.map((release) => [release.number, release.runId]), [[3, runs[2]?.id], [2, runs[1]?.id]]);
      const gone = await world.daemon.cli(['release', 'show', first.releaseId ?? '', '--json']);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /Release rel_\w+/);
      // Release 1 went, and with it version 1; version 2 stays for release 2, which can still be rolled back to.
      assert.deepEqual(await versionAccounts(), [versionAccountOf(token, 2)]);
      const rolled = await cliJson<RunDetail>(world.daemon, ['rollback', '--project', project, '--wait']);
      assert.equal(rolled.status, 'succeeded', rolled.error ?? '');
      assert.equal(rolled.rollbackTo, runs[1]?.releaseId);
      assert.equal(readDotenv(path.join('/opt/services', project, '.env')).get('API_TOKEN'), values[1]);
    } finally {
      await cliJson(world.daemon, ['config', 'set', 'releasesKept', '10']);
    }
  });

  test('rollback redeploys the release before the current one: its commit, its image by digest, its secret version', async () => {
    const project = world.newProject('back');
    const { apiToken } = await storeUserSecrets(world, project);
    const first = (await deployAndWait(world, project)).run;
    const port = first.allocation?.port ?? 0;
    assert.match(await page(port), /^test-web 1\.0\.0$/m);
    const v1 = world.target.image.digest.split('@')[1] ?? '';

    // A new secret value and a new image under the same tag: the next deploy takes both.
    const tokenHandle = first.plan?.variables.find((variable) => variable.name === 'API_TOKEN')?.handle ?? '';
    const rotated = `api-rotated-${crypto.randomBytes(12).toString('hex')}`;
    await cliJson(world.daemon, ['secret', 'rotate', tokenHandle], rotated);
    world.values.set(`${tokenHandle}-rotated`, rotated);
    const v2 = await buildWebImage(world.target.engine, { name: 'zavhoz-release/backend', tag: '1.0.0', version: '2.0.0' });
    const second = (await deployAndWait(world, project)).run;
    const envFile = path.join('/opt/services', project, '.env');
    assert.match(await page(port), /^test-web 2\.0\.0$/m);
    assert.equal(readDotenv(envFile).get('API_TOKEN'), rotated);
    assert.ok((await backendOf(project)).digests.some((digest) => digest.endsWith(`@${v2.digest.split('@')[1] ?? ''}`)), 'release 2 runs v2');

    const started = Date.now();
    const rolled = await cliJson<RunDetail>(world.daemon, ['rollback', '--project', project, '--wait']);
    console.log(`rollback (real engine): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(rolled.status, 'succeeded', rolled.error ?? '');
    assert.equal(rolled.kind, 'rollback');
    assert.equal(rolled.rollbackTo, first.releaseId);
    assert.match(await page(port), /^test-web 1\.0\.0$/m, 'the page shows v1 again');
    const backend = await backendOf(project);
    assert.ok(backend.digests.some((digest) => digest.endsWith(`@${v1}`)), `the running image is v1's (${v1}): ${backend.digests.join(', ')}`);
    assert.equal(readDotenv(envFile).get('API_TOKEN'), apiToken, '.env holds the secret version release 1 delivered');
    assert.ok(backend.env.includes(`API_TOKEN=${apiToken}`), 'and so does the container');

    // The rollback is the current release now: same commit and digests as release 1.
    const releases = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]);
    assert.deepEqual(releases.map((release) => [release.number, release.kind, release.rolledBackTo]), [[3, 'rollback', first.releaseId], [2, 'deploy', null], [1, 'deploy', null]]);
    assert.equal(releases[1]?.id, second.releaseId);
    const [current, , original] = await Promise.all(releases.map((release) => cliJson<ReleaseDetail>(world.daemon, ['release', 'show', release.id])));
    assert.equal(current?.commit, original?.commit);
    assert.deepEqual(current?.images, original?.images);
    assert.deepEqual(current?.secrets, original?.secrets);
    const runs = await cliJson<RunDetail[]>(world.daemon, ['run', 'list', '--project', project]);
    assert.deepEqual(runs.map((run) => run.kind), ['rollback', 'deploy', 'deploy']);
  });

  test('a release that fails on the server is rolled back by itself; --no-rollback keeps it for debugging', async () => {
    const project = world.newProject('gate');
    await storeUserSecrets(world, project);
    const good = (await deployAndWait(world, project)).run;
    const port = good.allocation?.port ?? 0;
    const answered = await page(port);

    // The image's own health check fails (containers check), then an HTTP health path that answers 404.
    for (const [extra, cause] of [
      [['--ref', 'unhealthy'], /runs but its health check fails/],
      [['--health-path', '/missing'], /Health check of each module/],
    ] as const) {
      const failed = await failingDeploy(project, extra);
      assert.equal(failed.status, 'failed');
      assert.match(failed.error ?? '', cause);
      assert.match(failed.error ?? '', new RegExp(`rolled back to release 1 \\(${good.releaseId ?? ''}\\)`));
      assert.equal(failed.releaseId, null, 'no release for the failed one');
      assert.equal(failed.steps.find((step) => step.name === 'health')?.status, 'failed');
      assert.equal(await page(port), answered, 'release 1 answers again');
      assert.ok(!(await backendOf(project)).env.includes('FAIL_HEALTH=1'));
    }
    const releases = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]);
    assert.deepEqual(releases.map((release) => release.id), [good.releaseId]);

    const kept = await failingDeploy(project, ['--ref', 'unhealthy', '--no-rollback']);
    assert.match(kept.error ?? '', /left running \(--no-rollback\); go back to release 1 with: zavhoz rollback --project/);
    assert.ok((await backendOf(project)).env.includes('FAIL_HEALTH=1'), 'the failing release still runs');
    const restored = await cliJson<RunDetail>(world.daemon, ['rollback', '--project', project, '--to', good.releaseId ?? '', '--wait']);
    assert.equal(restored.status, 'succeeded', restored.error ?? '');
    assert.equal(await page(port), answered);
  });

  // Last in this file: it pushes a new image under the tag every deploy of this file pulls.
  test('an unchanged redeploy skips compose up and records the same digests; a new image under the same tag is pulled and recreates the containers', async () => {
    const project = world.newProject('retag');
    await storeUserSecrets(world, project);
    const first = (await deployAndWait(world, project)).run;
    const port = first.allocation?.port ?? 0;
    const images = async (run: RunDetail): Promise<string[][]> =>
      (await cliJson<ReleaseDetail>(world.daemon, ['release', 'show', run.releaseId ?? ''])).images.map((image) => [image.service, image.digest]);
    const releaseImages = await images(first);
    assert.equal(releaseImages.length, 2);

    const same = await deployAndWait(world, project);
    assert.match(same.log, /containers unchanged: /);
    assert.notEqual(same.run.releaseId, first.releaseId, 'a release of its own');
    assert.deepEqual(await images(same.run), releaseImages, 'with the digests of the containers that kept running');

    const v3 = await buildWebImage(world.target.engine, { name: 'zavhoz-release/backend', tag: '1.0.0', version: '3.0.0' });
    const next = await deployAndWait(world, project);
    assert.match(next.log, /containers to start: the image of the service backend db changed/);
    assert.match(await page(port), /^test-web 3\.0\.0$/m, 'the new image serves');
    const v3Pinned = `${world.target.reference.replace(/:[^:/]+$/, '')}@${v3.digest.split('@')[1] ?? ''}`;
    assert.deepEqual(await images(next.run), [['backend', v3Pinned], ['db', v3Pinned]]);
    assert.ok((await backendOf(project)).digests.some((digest) => digest.endsWith(`@${v3.digest.split('@')[1] ?? ''}`)), 'the backend runs it');
  });
});
