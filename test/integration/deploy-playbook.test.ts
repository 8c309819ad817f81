/**
 * What the deploy playbook does on the target beyond the happy path: the firewall (UFW active, inactive, or
 * unreadable without root), git tokens a killed run left behind, and a backend that answers 503 while it boots. A
 * real daemon, keychain, sshd, ansible-playbook and git, and the run's real container engine; UFW is a test double
 * (test/fakes/ufw: the machine's firewall may not be changed). STAND-IN: the 503-while-booting test keeps the
 * `docker` test double (test/fakes/docker, its own world below): the test image cannot answer 503 to its first
 * requests and then 200, and the playbook's container check waits for the image's health check before the HTTP one.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import {
  deployAndWait,
  type DeployWorld,
  gitCredentialFolders,
  gitCredentialsPrefix,
  type RealDeployWorld,
  setUpDeployWorld,
  setUpRealDeployWorld,
  storeUserSecrets,
} from './deploy-support.js';

describe('deploy playbook (docker test double): health retries', () => {
  let world: DeployWorld;

  before(async () => {
    world = await setUpDeployWorld();
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('STAND-IN (docker double): a backend that answers 503 while it boots is retried until it answers, and the deploy succeeds', async () => {
    const project = world.newProject('booting');
    await storeUserSecrets(world, project);
    world.docker.setUnhealthyRequests(2);
    try {
      const { run, log } = await deployAndWait(world, project);
      assert.equal(run.exitCode, 0);
      assert.equal(log.match(/FAILED - RETRYING: \[target -> localhost\]: Health check/g)?.length, 2, 'one retry per 503');
      assert.match(log, /TASK \[Health check[^\n]*\n(FAILED - RETRYING[^\n]*\n){2}ok: \[target -> localhost\]/);
      assert.ok(run.steps.some((step) => step.name === 'health' && step.status === 'succeeded'));
    } finally {
      world.docker.setUnhealthyRequests(0);
    }
  });
});

describe('deploy playbook: UFW, stale git credentials', () => {
  let world: RealDeployWorld;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'deploy-playbook' });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  /** Deploys `project` with `--wait`, asserts it succeeded, and returns the run and its log. */
  const deploy = (project: string, extra: readonly string[] = []): Promise<{ run: RunDetail; log: string }> => deployAndWait(world, project, extra);

  /** The `ufw` calls that opened `port`. */
  const allowCalls = (port: number): string[][] => world.ufw.calls().filter((args) => args[0] === 'allow' && args[1] === `${port}/tcp`);

  test('UFW active: the allocated port is opened; UFW inactive: it is left alone', async () => {
    const project = world.newProject('firewall');
    await storeUserSecrets(world, project);
    world.ufw.setState('active');
    try {
      const { run, log } = await deploy(project);
      const port = run.allocation?.port ?? 0;
      assert.deepEqual(allowCalls(port), [['allow', `${port}/tcp`]]);
      assert.match(log, new RegExp(`TASK \\[Firewall \\(UFW\\) for port ${port}\\][^\\n]*\\nok: \\[target\\] => \\{\\n\\s*"msg": "UFW is active: port ${port}/tcp opened"`));

      world.ufw.setState('inactive');
      const again = await deploy(project);
      assert.equal(again.run.allocation?.port, port);
      assert.equal(allowCalls(port).length, 1, 'no allow while UFW is inactive');
      assert.match(again.log, new RegExp(`TASK \\[Firewall \\(UFW\\) for port ${port}\\][^\\n]*\\nok: \\[target\\] => \\{\\n\\s*"msg": "nothing to open`));
      assert.doesNotMatch(again.log, /WARNING: could not read the UFW state/);
    } finally {
      world.ufw.setState('inactive');
    }
  });

  test('a UFW state that cannot be read (no root) does not fail the deploy, and the log says what to run by hand', async () => {
    const project = world.newProject('noroot');
    await storeUserSecrets(world, project);
    world.ufw.setState('needs-root');
    try {
      const { run, log } = await deploy(project);
      const port = run.allocation?.port ?? 0;
      assert.match(log, /WARNING: could not read the UFW state as \S+ \(ERROR: You need to be root to run this script\)/);
      assert.match(log, new RegExp(`UFW needs root or passwordless sudo\\. If UFW is active on this server, open the port yourself: sudo ufw allow ${port}/tcp`));
      assert.deepEqual(allowCalls(port), []);
    } finally {
      world.ufw.setState('inactive');
    }
  });

  test('git credentials a killed run left on the target are removed by the next deploy; live ones are kept', async () => {
    const project = world.newProject('stale');
    await storeUserSecrets(world, project);
    const gitToken = await world.storeSecret('GIT_TOKEN', 'token', `ghp_${crypto.randomBytes(16).toString('hex')}`);
    const prefix = gitCredentialsPrefix(project);
    const sevenHoursAgo = new Date(Date.now() - 7 * 3600 * 1000);
    /** A credentials folder with a token file, as the playbook writes one. */
    const plant = (folder: string, options: { mtime?: Date; uid?: number } = {}): string => {
      fs.mkdirSync(folder, { mode: 0o700 });
      fs.writeFileSync(path.join(folder, 'token'), 'ghp_planted', { mode: 0o600 });
      if (options.uid !== undefined) fs.chownSync(folder, options.uid, options.uid);
      if (options.mtime) fs.utimesSync(folder, options.mtime, options.mtime);
      return folder;
    };
    const random = (): string => crypto.randomBytes(4).toString('hex');
    // Stale: this project's, from earlier runs (one run per project at a time), and another project's old one.
    const stale = [
      plant(`/tmp/${prefix}${random()}`),
      plant(`/dev/shm/${prefix}${random()}`),
      plant(`/tmp/zavhoz-git-${random()}`, { mtime: sevenHoursAgo }),
    ];
    // Not ours to remove: another project's young folder (its deploy may be cloning) and another user's folder.
    const kept = [plant(`/dev/shm/${gitCredentialsPrefix(`other-${random()}`)}${random()}`), plant(`/tmp/${prefix}${random()}`, { uid: 65534 })];
    try {
      const { log } = await deploy(project, ['--git-token', gitToken]);
      assert.match(log, /TASK \[Compose, repository and \.env in \/opt\/services\/[^\]]+\][^\n]*\nchanged: \[target\]/);
      assert.deepEqual(stale.filter((folder) => fs.existsSync(folder)), [], 'the stale folders are gone');
      assert.deepEqual(kept.filter((folder) => fs.existsSync(folder)), kept, 'the others are untouched');
      assert.deepEqual(
        gitCredentialFolders().filter((folder) => path.basename(folder).startsWith(prefix) && !kept.includes(folder)),
        [],
        "this run's own credentials folder is gone too",
      );
    } finally {
      for (const folder of [...stale, ...kept]) fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
