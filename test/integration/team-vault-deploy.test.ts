/**
 * A deploy, a rotation and a rollback with a team secret whose value lives in HashiCorp Vault (the loopback test
 * double of its HTTP API, test/fakes/hashicorpVault.ts): the deploy delivers the value from Vault through the same
 * handle as a personal secret, the next deploy the rotated one, and the rollback the version release 1 delivered,
 * read back from the version Vault keeps. Real daemon, keychain, sshd and ansible; the `docker` test double on the
 * target (STAND-IN: only the values delivered are asserted here; the real engine is exercised by release.test.ts).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { type FakeHashicorpVault, startFakeHashicorpVault } from '../fakes/hashicorpVault.js';
import { cliJson, deployAndWait, type DeployWorld, readDotenv, setUpDeployWorld } from './deploy-support.js';

describe('deploy with a team secret in HashiCorp Vault (test double)', () => {
  let world: DeployWorld;
  let fake: FakeHashicorpVault;

  before(async () => {
    fake = await startFakeHashicorpVault();
    world = await setUpDeployWorld();
    const token = fake.issueToken({ ttlSeconds: 3600 });
    world.values.set('vault token', token);
    const connected = await world.daemon.cli(['vault', 'connect', 'hashicorp', '--address', fake.url, '--mount', 'secret', '--prefix', 'zavhoz/deploys', '--token-stdin'], { input: token });
    assert.equal(connected.code, 0, connected.stderr);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    await fake?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('STAND-IN (docker double): deploy, rotate, deploy and roll back deliver the team value of each release', async () => {
    const project = world.newProject('teamvault');
    const first = `team-api-${crypto.randomBytes(12).toString('hex')}`;
    world.values.set('team first', first);
    const stored = await cliJson<{ handle: string; location: string }>(world.daemon, ['secret', 'set', 'API_TOKEN', '--type', 'token', '--project', project, '--team'], first);
    assert.equal(stored.location, 'team');
    await world.storeSecret('WEBHOOK_SECRET', 'text', `hook ${crypto.randomBytes(8).toString('hex')}`, project);

    const envFile = path.join('/opt/services', project, '.env');
    const release1 = (await deployAndWait(world, project)).run;
    assert.equal(readDotenv(envFile).get('API_TOKEN'), first, 'the deploy delivered the value from Vault');

    const second = `team-api-rotated-${crypto.randomBytes(12).toString('hex')}`;
    world.values.set('team second', second);
    await cliJson(world.daemon, ['secret', 'rotate', stored.handle], second);
    await deployAndWait(world, project);
    assert.equal(readDotenv(envFile).get('API_TOKEN'), second);

    const rolled = await cliJson<RunDetail>(world.daemon, ['rollback', '--project', project, '--wait']);
    assert.equal(rolled.status, 'succeeded', rolled.error ?? '');
    assert.equal(rolled.rollbackTo, release1.releaseId);
    assert.equal(readDotenv(envFile).get('API_TOKEN'), first, 'the rollback delivered version 1, kept in Vault');
    assert.ok(fake.secrets.has(`zavhoz/deploys/${stored.handle}/v1`), 'version 1 is kept in Vault while release 1 holds it');

    for (const entry of fs.readdirSync(world.daemon.home, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const text = fs.readFileSync(path.join(entry.parentPath, entry.name), 'latin1');
      for (const [label, value] of world.values) assert.ok(!text.includes(value), `${entry.name} holds ${label}`);
    }
  });
});
