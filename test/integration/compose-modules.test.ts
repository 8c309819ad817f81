/**
 * Modules from the compose files, deployed for real: real daemon and vault on a private keychain, real sshd, real
 * Ansible and the run's real container engine. The fixture gets a second published service, `admin` on
 * `${ADMIN_PORT}`: the deploy allocates it a port of its own beside the main module, both answer there, and the
 * health check covers each of them, so an admin service that does not answer fails the deploy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DeployPlan, DeployPlanRequest } from '../../daemon/protocol/deploy.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { bareRepository, cliJson, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

describe('a deploy takes its modules from the compose files (real engine)', () => {
  let world: RealDeployWorld;
  let folder = '';
  let withoutAdmin = '';
  let repository: { url: string; remove(): void } | undefined;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'compose-modules' });
    // The fixture plus an admin service on a port variable of its own (the same web image, on this test's host).
    // Branch `broken-admin`: the admin container runs and is healthy, but its published port leads to a container port
    // nothing listens on, so only the HTTP check of module admin can find it broken.
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-compose-modules-'));
    fs.cpSync(world.fixture, folder, { recursive: true });
    const production = path.join(folder, 'infra/compose.prod.yml');
    const admin = ['  admin:', `    image: ${world.target.reference}`, '    init: true', '    ports:', `      - "${world.sshd.host}:\${ADMIN_PORT}:8000"`, ''];
    fs.appendFileSync(production, admin.join('\n'));
    // Branch `without-admin` (and a project folder of its own, whose compose files a deploy reads): admin taken out.
    withoutAdmin = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-compose-modules-'));
    fs.cpSync(world.fixture, withoutAdmin, { recursive: true });
    repository = bareRepository(folder, {
      'broken-admin': (work) => {
        const file = path.join(work, 'infra/compose.prod.yml');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('${ADMIN_PORT}:8000', '${ADMIN_PORT}:8001'));
      },
      'without-admin': (work) => fs.cpSync(path.join(withoutAdmin, 'infra/compose.prod.yml'), path.join(work, 'infra/compose.prod.yml')),
    });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    repository?.remove();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    if (withoutAdmin) fs.rmSync(withoutAdmin, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  const deploy = async (project: string, extra: readonly string[] = [], from = folder): Promise<{ code: number | null; run: RunDetail }> => {
    const args = ['deploy', from, '--project', project, '--repo', 'Acme/Demo', '--repo-url', repository?.url ?? '', ...extra, '--wait', '--json'];
    const result = await world.daemon.cli(args);
    return { code: result.code, run: JSON.parse(result.stdout) as RunDetail };
  };

  test('each published service is a module with its own port; both answer, both are health-checked, an active UFW opens both', async () => {
    const project = world.newProject('modules');
    await storeUserSecrets(world, project);
    world.ufw.setState('active');
    let deployed: { code: number | null; run: RunDetail };
    try {
      deployed = await deploy(project);
    } finally {
      world.ufw.setState('inactive');
    }
    const { code, run } = deployed;
    assert.equal(code, 0, `${run.status}: ${run.error ?? ''}`);
    assert.equal(run.status, 'succeeded');
    const ports = run.allocation?.modulePorts ?? {};
    assert.deepEqual(Object.keys(ports).sort(), ['admin', 'app']);
    assert.notEqual(ports.admin, ports.app);
    // Every module's port is opened, not only the main one's, and the run log names them.
    for (const port of Object.values(ports)) {
      assert.ok(world.ufw.calls().some((args) => args[0] === 'allow' && args[1] === `${port}/tcp`), `UFW opened ${port}/tcp`);
    }
    const sorted = Object.values(ports).sort((a, b) => a - b);
    assert.match(fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8'), new RegExp(`UFW is active: ports ${sorted.map((port) => `${port}/tcp`).join(', ')} opened`));
    const allocations = await cliJson<{ module: string; port: number }[]>(world.daemon, ['allocation', 'list', '--project', project]);
    assert.deepEqual(allocations.map((allocation) => [allocation.module, allocation.port]).sort(), Object.entries(ports).sort());
    for (const port of Object.values(ports)) {
      const answer = await fetch(`http://${world.sshd.host}:${port}/`);
      assert.equal(answer.status, 200, `module on port ${port} answers`);
    }
    const log = fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8');
    for (const [module, port] of Object.entries(ports)) assert.ok(log.includes(`${module} http://${world.sshd.host}:${port}/`), `the health check covers ${module}`);

    // A redeploy keeps both ports.
    const again = await deploy(project);
    assert.equal(again.code, 0, `${again.run.status}: ${again.run.error ?? ''}`);
    assert.deepEqual(again.run.allocation?.modulePorts, ports);
  });

  test('a module that does not answer at its port fails the deploy at the health check, which names it', async () => {
    const project = world.newProject('modules-broken');
    await storeUserSecrets(world, project);
    const { code, run } = await deploy(project, ['--ref', 'broken-admin']);
    assert.notEqual(code, 0);
    assert.equal(run.status, 'failed', run.error ?? '');
    const health = run.steps.find((step) => step.name === 'health');
    assert.equal(health?.status, 'failed', JSON.stringify(run.steps));
    const port = run.allocation?.modulePorts.admin;
    assert.ok(port, JSON.stringify(run.allocation));
    assert.match(run.error ?? '', new RegExp(`Health check of each module.*module admin did not pass its health check at port ${port}, path /\\.`), run.error ?? '');
    const log = fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8');
    assert.match(log, new RegExp(`failed: \\[[^\\]]+\\] \\(item=admin http://${world.sshd.host.replace(/\./g, '\\.')}:${port}/\\)`), 'the check of module admin failed');
  });

  test('a module taken out of the compose files is released after a healthy deploy, its port closed and its container gone; a rollback allocates it again', async () => {
    const project = world.newProject('modules-retire');
    await storeUserSecrets(world, project);
    world.ufw.setState('active');
    try {
      const first = await deploy(project);
      assert.equal(first.code, 0, `${first.run.status}: ${first.run.error ?? ''}`);
      const ports = first.run.allocation?.modulePorts ?? {};
      const adminPort = ports.admin;
      assert.ok(adminPort !== undefined && ports.app !== undefined, JSON.stringify(ports));
      assert.ok(world.ufw.rules().includes(`${adminPort}/tcp`), `UFW holds ${adminPort}/tcp after the first deploy`);
      const containers = async (service: string): Promise<string[]> =>
        (await world.target.engine.docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`])).stdout
          .split('\n')
          .filter(Boolean);
      assert.equal((await containers('admin')).length, 1, 'admin runs after the first deploy');

      // The panel's plan (deploy/plan) of the folder without admin: app stays, admin is retired.
      const client = await world.daemon.connect('test');
      let plan: DeployPlan;
      try {
        plan = await client.request(DeployPlanRequest, { folder: withoutAdmin, project });
      } finally {
        client.close();
      }
      assert.deepEqual(plan.modules.map((module) => [module.name, module.allocation?.port]), [['app', ports.app]]);
      assert.deepEqual(plan.retired.map((module) => [module.module, module.port]), [['admin', adminPort]]);

      const second = await deploy(project, ['--ref', 'without-admin'], withoutAdmin);
      assert.equal(second.code, 0, `${second.run.status}: ${second.run.error ?? ''}`);
      assert.deepEqual(second.run.allocation?.modulePorts, { app: ports.app }, 'the deploy ran and health-checked app alone');
      const log = fs.readFileSync(path.join(second.run.folder, 'run.log'), 'utf8');
      assert.match(log, new RegExp(`released module admin: port ${adminPort} on ${world.server}; UFW rule ${adminPort}/tcp deleted`));
      // Released after the health check and the release record, never before.
      assert.ok(log.indexOf('released module admin') > log.indexOf('Health check of each module'), 'released after the health check');
      assert.ok(log.indexOf('released module admin') > log.lastIndexOf('] release '), 'released after the release was recorded');
      const allocations = await cliJson<{ module: string; port: number }[]>(world.daemon, ['allocation', 'list', '--project', project]);
      assert.deepEqual(allocations.map((allocation) => allocation.module), ['app']);
      assert.ok(world.ufw.calls().some((args) => args.join(' ') === `delete allow ${adminPort}/tcp`), 'UFW was asked to delete the rule');
      assert.ok(!world.ufw.rules().includes(`${adminPort}/tcp`), 'the rule is gone');
      assert.ok(world.ufw.rules().includes(`${ports.app}/tcp`), 'app keeps its rule');
      assert.deepEqual(await containers('admin'), [], 'the admin container is gone');
      const audit = await cliJson<{ action: string; subject: string; detail: Record<string, unknown> }[]>(world.daemon, ['audit', 'list', '--json']);
      const released = audit.filter((entry) => entry.action === 'module-release' && entry.subject === project);
      assert.deepEqual(released.map((entry) => [entry.detail.module, entry.detail.port, entry.detail.server, entry.detail.run]), [['admin', adminPort, world.server, second.run.id]]);

      // Back to the first release, which had admin: it is allocated again and answers.
      const rolled = await cliJson<RunDetail>(world.daemon, ['rollback', '--project', project, '--wait']);
      assert.equal(rolled.status, 'succeeded', rolled.error ?? '');
      const again = await cliJson<{ module: string; port: number }[]>(world.daemon, ['allocation', 'list', '--project', project]);
      const adminAgain = again.find((allocation) => allocation.module === 'admin')?.port;
      assert.ok(adminAgain !== undefined, JSON.stringify(again));
      assert.deepEqual(rolled.allocation?.modulePorts, { admin: adminAgain, app: ports.app });
      assert.match(fs.readFileSync(path.join(rolled.folder, 'run.log'), 'utf8'), new RegExp(`allocated module admin again for release 1: port ${adminAgain} on ${world.server}`));
      assert.equal((await fetch(`http://${world.sshd.host}:${adminAgain}/`)).status, 200, 'admin answers on its port again');
      assert.ok(world.ufw.rules().includes(`${adminAgain}/tcp`), 'its port is open again');
    } finally {
      world.ufw.setState('inactive');
    }
  });
});
