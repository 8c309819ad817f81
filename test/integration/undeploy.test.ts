/**
 * `zavhoz undeploy` end to end: a real daemon and vault, a real sshd as the target, real Ansible deploys of the
 * fixture project onto the run's real container engine, then undeploys over SSH. Stand-ins: the firewall
 * (test/fakes/ufw keeps the rules it was given, since the real one may not be changed here) and GitHub's API
 * (test/fakes/github.ts, which now also deletes secrets).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { deployUserOf } from '../../daemon/cikey/remote.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditRecord } from '../../daemon/audit/auditLog.js';
import type { Allocation } from '../../daemon/protocol/allocations.js';
import type { RunSummary } from '../../daemon/protocol/runs.js';
import type { UndeployResult } from '../../daemon/protocol/undeploy.js';
import { FakeGithub } from '../fakes/github.js';
import { waitUntil } from '../harness/processes.js';
import { cliJson, deployAndWait, deployArguments, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

describe('undeploy: nothing of the project is left on the server, its allocation and CI secrets go', () => {
  let world: RealDeployWorld;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'undeploy' });
  });
  after(async () => {
    await world?.dispose();
  });

  const docker = async (...args: string[]): Promise<string[]> => (await world.target.engine.docker(args)).stdout.split('\n').filter(Boolean);
  const label = (project: string): string => `label=com.docker.compose.project=${project}`;
  /** What the engine still holds of a project: containers, networks and volumes, by its compose label. */
  const leftOf = async (project: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> => ({
    containers: await docker('ps', '-aq', '--filter', label(project)),
    networks: await docker('network', 'ls', '-q', '--filter', label(project)),
    volumes: await docker('volume', 'ls', '-q', '--filter', label(project)),
  });
  const allocationsOf = async (project: string): Promise<Allocation[]> => cliJson<Allocation[]>(world.daemon, ['allocation', 'list', '--project', project]);
  const page = async (port: number): Promise<string> => (await fetch(`http://${world.sshd.host}:${port}/`, { signal: AbortSignal.timeout(10_000) })).text();
  const undeploy = (project: string, ...extra: string[]): Promise<UndeployResult> => cliJson<UndeployResult>(world.daemon, ['undeploy', '--project', project, '--yes', ...extra]);

  test('undeploy removes containers, volumes, networks, the image, the folder, the UFW rule, the allocation and the CI secrets; a redeploy works', async () => {
    const github = await FakeGithub.start();
    world.ufw.setState('active');
    try {
      github.createRepository('Acme/Demo');
      const token = `ghp_${crypto.randomBytes(18).toString('hex')}`;
      github.addToken(token, ['Acme/Demo']);
      await cliJson(world.daemon, ['config', 'set', 'githubApiBase', github.url]);
      await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', await world.storeSecret('GITHUB_TOKEN', 'token', token)]);
      github.writeOutside('Acme/Demo', 'SOMETHING_ELSE', 'not pushed by Zavhoz for this project');

      const project = world.newProject('gone');
      await storeUserSecrets(world, project);
      const { run } = await deployAndWait(world, project);
      const port = run.allocation?.port ?? 0;
      assert.match(await page(port), /^test-web 1\.0\.0$/m);
      const before = await leftOf(project);
      assert.equal(before.containers.length, 2);
      assert.ok(before.volumes.length >= 1, 'the db service has its named volume');
      assert.ok(world.ufw.rules().includes(`${port}/tcp`), 'the deploy opened the port');
      assert.ok(github.secretNames('Acme/Demo').includes('DEPLOY_SSH_KEY'));

      const result = await undeploy(project);
      assert.equal(result.status, 'succeeded', result.error ?? '');
      assert.equal(result.server, world.server);
      assert.deepEqual(await leftOf(project), { containers: [], networks: [], volumes: [] });
      assert.equal(fs.existsSync(path.join('/opt/services', project)), false, 'the project folder is gone');
      assert.equal(world.ufw.rules().includes(`${port}/tcp`), false, 'the UFW rule is deleted');
      assert.deepEqual(await allocationsOf(project), []);
      assert.deepEqual(github.secretNames('Acme/Demo'), ['SOMETHING_ELSE'], 'only what Zavhoz pushed for the project is deleted');
      assert.equal(github.seen('DELETE', /\/actions\/secrets\//).length, 7);
      assert.notEqual(spawnSync('id', ['-u', deployUserOf(project)]).status, 0, "the project's CI deploy user left the server");
      assert.deepEqual(result.removed.images, [world.target.reference], 'the image no other container uses is removed');
      assert.deepEqual(await docker('image', 'ls', '-q', world.target.reference), []);
      assert.equal(result.removed.containers, 2);
      assert.deepEqual(result.removed.firewallPorts, [port]);
      assert.equal(result.removed.folder, true);
      assert.deepEqual(result.warnings, []);
      assert.ok(result.steps.every((step) => step.status === 'succeeded'), JSON.stringify(result.steps));

      const audit = await cliJson<AuditRecord[]>(world.daemon, ['audit', 'list', '--subject', `project:${project}`]);
      // The push after the deploy created the project's CI deploy user; the undeploy removed it.
      assert.deepEqual(audit.map((entry) => `${entry.action}:${String(entry.detail.outcome ?? '')}`), ['undeploy:succeeded', 'ci-key-remove:', 'undeploy-start:', 'ci-key-create:']);

      // The project can come back: the same deploy works again from nothing.
      const again = await deployAndWait(world, project);
      assert.match(await page(again.run.allocation?.port ?? 0), /^test-web 1\.0\.0$/m);
      assert.equal((await undeploy(project)).status, 'succeeded');
    } finally {
      world.ufw.setState('inactive');
      await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', '""']);
      await github.stop();
    }
  });

  test('--keep-data keeps the named volume (and only it); the folder and the containers still go', async () => {
    const project = world.newProject('keep');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
    const volumes = (await leftOf(project)).volumes;
    assert.ok(volumes.some((volume) => volume.endsWith('db-data')), volumes.join(','));

    const result = await undeploy(project, '--keep-data');
    assert.equal(result.status, 'succeeded', result.error ?? '');
    const left = await leftOf(project);
    assert.deepEqual(left.containers, []);
    assert.deepEqual(left.networks, []);
    assert.deepEqual(left.volumes.sort(), volumes.sort(), 'the named volume is still there');
    assert.deepEqual(result.removed.keptVolumes, volumes.sort());
    assert.equal(fs.existsSync(path.join('/opt/services', project)), false);
    assert.deepEqual(await allocationsOf(project), []);
    await docker('volume', 'rm', ...volumes);
  });

  test('without --yes and a terminal it refuses; a project already gone from its server is still released; one never allocated is an error', async () => {
    const project = world.newProject('half');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);

    const refused = await world.daemon.cli(['undeploy', '--project', project]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /pass --yes/);
    assert.equal((await allocationsOf(project)).length, 1, 'nothing changed');

    // Someone cleaned the server by hand: only the allocation is left.
    await docker('rm', '--force', '--volumes', ...(await leftOf(project)).containers);
    for (const network of (await leftOf(project)).networks) await docker('network', 'rm', network);
    fs.rmSync(path.join('/opt/services', project), { recursive: true, force: true });
    const result = await undeploy(project);
    assert.equal(result.status, 'succeeded', result.error ?? '');
    assert.equal(result.removed.folder, false);
    assert.equal(result.removed.containers, 0);
    assert.deepEqual(await allocationsOf(project), []);

    const again = await world.daemon.cli(['undeploy', '--project', project, '--yes']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`Project ${project} is not deployed anywhere: it has no allocation`));
  });

  test('an undeploy started while the project deploys waits for the deploy, then removes what it deployed', async () => {
    const project = world.newProject('busy');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
    const started = await cliJson<RunSummary>(world.daemon, deployArguments(world, project));
    await waitUntil('the redeploy to run', async () => ((await cliJson<RunSummary>(world.daemon, ['run', 'show', started.id])).status === 'running' ? true : undefined), 30_000);
    const result = await world.daemon.cli(['undeploy', '--project', project, '--yes']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`wait: running \\(waiting for deploy ${started.id}`));
    const run = await cliJson<RunSummary>(world.daemon, ['run', 'show', started.id]);
    assert.equal(run.status, 'succeeded', 'the deploy was not disturbed');
    assert.deepEqual(await leftOf(project), { containers: [], networks: [], volumes: [] });
    assert.deepEqual(await allocationsOf(project), []);
  });
});
