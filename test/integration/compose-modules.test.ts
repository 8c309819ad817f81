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
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { bareRepository, cliJson, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

describe('a deploy takes its modules from the compose files (real engine)', () => {
  let world: RealDeployWorld;
  let folder = '';
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
    repository = bareRepository(folder, {
      'broken-admin': (work) => {
        const file = path.join(work, 'infra/compose.prod.yml');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('${ADMIN_PORT}:8000', '${ADMIN_PORT}:8001'));
      },
    });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    repository?.remove();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  const deploy = async (project: string, extra: readonly string[] = []): Promise<{ code: number | null; run: RunDetail }> => {
    const args = ['deploy', folder, '--project', project, '--repo', 'Acme/Demo', '--repo-url', repository?.url ?? '', ...extra, '--wait', '--json'];
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
});
