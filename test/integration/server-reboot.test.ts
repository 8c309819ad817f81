/**
 * `zavhoz server reboot` end to end: a real daemon and vault, a real sshd as the server, a project deployed with
 * real Ansible onto a real container engine of this file's own. The machine the tests run on cannot reboot, so
 * `reboot` on the server's PATH is a test double (test/fakes/reboot) that only records the call, and the test plays
 * the machine: its services lose power and boot for real. sshd is killed with every session (connections drop, new
 * ones are refused, as on a machine that is down) and started again on the same address, port and host key once the
 * machine is up; the engine likewise (`engine.powerCycle()`: dockerd, containerd, the shims and the containers'
 * processes killed with SIGKILL, the exec root emptied as /run is, then dockerd started again on the same data root).
 * Nothing but the engine itself brings the services back, by the compose file's restart policy (`unless-stopped`),
 * as on a real reboot; Zavhoz's status must then see them running, started after the power cut. Only the kernel is
 * simulated.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditRecord } from '../../daemon/audit/auditLog.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import type { ProjectStatus } from '../../daemon/protocol/services.js';
import { type InstalledScript, installScript } from '../fakes/scriptDouble.js';
import { waitUntil } from '../harness/processes.js';
import { sshArgs } from '../harness/sshd.js';
import { cliJson, deployAndWait, type RealDeployWorld, setRemoteEnvironment, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

const REBOOT_DOUBLE = path.resolve(import.meta.dirname, '../fakes/reboot');

describe('server reboot: reboot over SSH, wait for SSH, health check; the services come back', () => {
  let world: RealDeployWorld;
  let reboot: InstalledScript;

  before(async () => {
    // An engine of its own: the power cut would take down the other test files' containers on the shared one.
    world = await setUpRealDeployWorld({ name: 'reboot', engine: 'private' });
    reboot = installScript(REBOOT_DOUBLE, 'reboot');
    const { engine, configDir } = world.target;
    await setRemoteEnvironment(world.sshd, { DOCKER_HOST: engine.dockerHost, DOCKER_CONFIG: configDir }, reboot.binFolder, world.ufw.binFolder);
    // Never let the test reboot this machine: the server's `reboot`, found as Zavhoz finds it, must be the double.
    const found = execFileSync('ssh', [...sshArgs(world.sshd), `${world.sshd.user}@${world.sshd.host}`, 'PATH="$PATH:/usr/sbin:/sbin"; command -v reboot'], { encoding: 'utf8' }).trim();
    assert.equal(found, path.join(reboot.binFolder, 'reboot'));
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    if (reboot) fs.rmSync(reboot.binFolder, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  const docker = async (...args: string[]): Promise<string[]> => (await world.target.engine.docker(args)).stdout.split('\n').filter(Boolean);
  const sshdPid = (): number => Number(fs.readFileSync(path.join(world.sshd.dir, 'sshd.pid'), 'utf8'));

  test('without --yes off a terminal it refuses; a server that will not reboot says why', async () => {
    const refused = await world.daemon.cli(['server', 'reboot', world.server]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /pass --yes/);
    assert.equal(reboot.calls().length, 0);

    fs.writeFileSync(path.join(reboot.stateFolder, 'config.json'), JSON.stringify({ refuse: true }));
    try {
      const result = await world.daemon.cli(['server', 'reboot', world.server, '--yes']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`${world.server} refused to reboot \\(exit 1: .*Interactive authentication required.*root or passwordless sudo`));
    } finally {
      fs.rmSync(path.join(reboot.stateFolder, 'config.json'), { force: true });
    }
  });

  test('the server goes down and comes back, is health-checked, and the project answers again', async () => {
    const project = world.newProject('boot');
    await storeUserSecrets(world, project);
    const { run } = await deployAndWait(world, project);
    const port = run.allocation?.port ?? 0;
    const page = async (): Promise<string> => (await fetch(`http://${world.sshd.host}:${port}/`, { signal: AbortSignal.timeout(5_000) })).text();
    assert.match(await page(), /^test-web 1\.0\.0$/m);
    const containers = await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`);
    assert.equal(containers.length, 2);
    const calls = reboot.calls().length;
    const startedAt = new Date();

    const rebooting = world.daemon.cli(['server', 'reboot', world.server, '--yes', '--timeout', '120']);
    await waitUntil('reboot to be called on the server', () => (reboot.calls().length > calls ? true : undefined), 60_000);
    // The machine goes down: sshd and every session die, so connections drop; the engine and every container lose power.
    const sshdBefore = sshdPid();
    let poweredOffAt: Date;
    try {
      await world.sshd.powerOff();
      poweredOffAt = new Date();
      // It boots: the engine starts on its data root and restarts what its restart policy says, nothing else does.
      await world.target.engine.powerCycle();
    } finally {
      // sshd last, as init starts it: SSH answering means the machine is up.
      await world.sshd.powerOn();
    }
    assert.notEqual(sshdPid(), sshdBefore, 'sshd was started again, not resumed');

    const result = await rebooting;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^rebooting$/m);
    assert.match(result.stderr, /^down: went down after \d+ s; waiting up to 120 s for SSH$/m);
    assert.match(result.stderr, /^up: SSH answers again after \d+ s$/m);
    assert.match(result.stderr, /^checking$/m);
    assert.match(result.stdout, new RegExp(`${world.server} rebooted: down after \\d+ s, SSH back after \\d+ s; health check in_use\\.`));
    const server = await cliJson<ServerInfo>(world.daemon, ['server', 'show', world.server]);
    assert.ok(server.lastCheckAt !== null && new Date(server.lastCheckAt) >= startedAt, 'the health check ran after the reboot');
    assert.equal(server.lastCheckError, null);
    assert.match(await waitUntil('the project to answer again', () => page().catch(() => undefined), 60_000), /^test-web 1\.0\.0$/m);

    // Zavhoz's status sees the same containers running again, started by the engine after the power cut.
    const readStatus = async (): Promise<ProjectStatus[]> => cliJson<ProjectStatus[]>(world.daemon, ['service', 'status', '--project', project]);
    const [status, ...others] = await waitUntil(
      'service status to show both containers running',
      async () => {
        const rows = await readStatus();
        return rows[0]?.services.length === 2 && rows[0].services.every((service) => service.state === 'running') ? rows : undefined;
      },
      60_000,
    );
    assert.equal(others.length, 0);
    assert.equal(status?.state, 'deployed', status?.error);
    for (const service of status.services) {
      assert.ok(service.startedAt !== null && new Date(service.startedAt) > poweredOffAt, `${service.service} started at ${String(service.startedAt)}, after the power cut`);
    }
    const after = await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`);
    assert.deepEqual([...after].sort(), [...containers].sort(), 'the engine restarted the same containers: nothing redeployed them');

    const audit = await cliJson<AuditRecord[]>(world.daemon, ['audit', 'list', '--subject', `server:${world.server}`]);
    const entry = audit.find((candidate) => candidate.action === 'server-reboot' && candidate.detail.outcome === 'done');
    assert.ok(entry, JSON.stringify(audit));
  });
});
