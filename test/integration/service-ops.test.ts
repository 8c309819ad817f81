/**
 * Operating deployed projects end to end: real daemon, real vault on a private keychain, real sshd, real Ansible
 * deploys and the run's real container engine with compose. `zavhoz service status|logs|restart|stop|start` are run
 * as a user runs them (the CLI), and the engine is asked directly what they did.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import type { ProjectStatus } from '../../daemon/protocol/services.js';
import { cliJson, deployAndWait, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

describe('service status, logs, restart, stop and start of deployed projects', () => {
  let world: RealDeployWorld;
  /** Two projects deployed on the world's one server, and their allocated ports. */
  const deployed: { project: string; port: number }[] = [];

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'service-ops' });
    for (const prefix of ['ops-a', 'ops-b']) {
      const project = world.newProject(prefix);
      await storeUserSecrets(world, project);
      const { run } = await deployAndWait(world, project);
      deployed.push({ project, port: run.allocation?.port ?? 0 });
    }
  });
  after(async () => {
    await world?.dispose();
  });

  /** Lines of the daemon's log that record one status exec on a server. */
  const statusExecs = (): number =>
    fs
      .readFileSync(dataPaths(world.daemon.home).log, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"service status read"')).length;

  const statusOf = async (project?: string): Promise<ProjectStatus[]> => cliJson<ProjectStatus[]>(world.daemon, ['service', 'status', ...(project ? ['--project', project] : [])]);

  test('status: every module running with its image, digest, start time and URL; one SSH exec for two projects on one server', async () => {
    const execsBefore = statusExecs();
    const rows = await statusOf();
    assert.equal(statusExecs() - execsBefore, 1, 'one status exec on the one server, for both projects');
    assert.deepEqual(
      rows.map((row) => `${row.project}:${row.state}`),
      deployed.map(({ project }) => `${project}:deployed`).sort(),
    );
    for (const { project, port } of deployed) {
      const row = rows.find((candidate) => candidate.project === project);
      assert.ok(row);
      assert.equal(row.server, world.server);
      assert.deepEqual(row.services.map((service) => `${service.service}:${service.state}`), ['backend:running', 'db:running']);
      const backend = row.services.find((service) => service.service === 'backend');
      assert.ok(backend);
      assert.equal(backend.module, 'app');
      assert.equal(backend.url, `http://${world.sshd.host}:${port}`);
      assert.equal(backend.image, world.target.reference);
      assert.equal(backend.health, 'healthy', 'the test image has a health check that passes');
      assert.equal(backend.restarts, 0);
      assert.ok(backend.digest?.includes('@sha256:'), `a registry digest, got ${String(backend.digest)}`);
      assert.ok(backend.startedAt && Date.parse(backend.startedAt) <= Date.now() && Date.parse(backend.startedAt) > Date.now() - 30 * 60_000);
      const answer = await fetch(backend.url ?? '', { signal: AbortSignal.timeout(10_000) });
      assert.equal(answer.status, 200, 'the URL status shows answers');
    }
    const table = await world.daemon.cli(['service', 'status', '--project', deployed[0]?.project ?? '']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /PROJECT\s+SERVICE\s+MODULE\s+STATE\s+HEALTH/);
    assert.match(table.stdout, new RegExp(`${deployed[0]?.project}\\s+backend\\s+app\\s+running\\s+healthy\\s+0\\s+\\d+[smh]`));
  });

  test('status of a project that was never deployed, and of an unknown one, say what to do', async () => {
    const project = world.newProject('ops-never');
    await cliJson(world.daemon, ['allocate', '--project', project]);
    const [row] = await statusOf(project);
    assert.equal(row?.state, 'not-deployed');
    assert.match(row?.error ?? '', /never deployed.*zavhoz deploy/);
    const unknown = await world.daemon.cli(['service', 'status', '--project', 'ops-nothing-here', '--json']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no allocation.*zavhoz deploy/);
    await cliJson(world.daemon, ['allocation', 'release', '--project', project]);
  });

  test('status of a server that cannot be reached: its rows say so, the answer still comes', async () => {
    // The server's SSH port changed to one nobody listens on: its projects' rows say why, the command still answers.
    await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', '1']);
    try {
      const rows = await statusOf();
      assert.deepEqual(rows.map((row) => row.state), ['unreachable', 'unreachable']);
      assert.match(rows[0]?.error ?? '', new RegExp(`Could not read the containers on ${world.server}: .*port 1`));
    } finally {
      await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', String(world.sshd.port)]);
    }
    assert.deepEqual((await statusOf()).map((row) => row.state), ['deployed', 'deployed']);
  });
});
