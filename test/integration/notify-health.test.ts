/**
 * Service health watched: a project deployed for real (real daemon, keychain, sshd, Ansible and the run's container
 * engine), the periodic health check every second, and a signature-checking webhook receiver subscribed to the
 * service events. A container stopped behind Zavhoz's back is told as unhealthy once, and as recovered once when it
 * runs again.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook.js';
import { cliJson, deployAndWait, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

const SIGNING_KEY = `whsec-${crypto.randomBytes(16).toString('hex')}`;

describe('service health notifications', { timeout: 600_000 }, () => {
  let world: RealDeployWorld;
  let receiver: WebhookReceiver;
  let project: string;

  before(async () => {
    receiver = await startWebhookReceiver(SIGNING_KEY);
    world = await setUpRealDeployWorld({ name: 'notify-health' });
    const key = await world.storeSecret('HEALTH_WEBHOOK_KEY', 'token', SIGNING_KEY);
    await cliJson(world.daemon, ['notify', 'add', 'webhook', '--name', 'health', '--url', receiver.url, '--signing-key-secret', key, '--events', 'service.unhealthy,service.recovered']);
    project = world.newProject('watched');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    await receiver?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('a container that stops is told as unhealthy, and as recovered when it runs again, once each', async () => {
    const filters = ['--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=backend'];
    const container = (await world.target.engine.docker(['ps', '-q', ...filters])).stdout.trim();
    assert.ok(container, 'the backend runs');
    // The first rounds see it running: recorded, nothing told.
    await cliJson(world.daemon, ['config', 'set', 'healthCheckIntervalSeconds', '1']);
    await world.target.engine.docker(['stop', '-t', '1', container]);
    const [unhealthy] = await receiver.waitForAccepted(1);
    const told = JSON.parse(unhealthy?.body ?? '{}') as { event: string; subject: string; detail: { project: string; state: string } };
    assert.equal(told.event, 'service.unhealthy');
    assert.equal(told.subject, `${project}/backend`);
    assert.equal(told.detail.state, 'exited');

    await world.target.engine.docker(['start', container]);
    const recovered = (await receiver.waitForAccepted(2))[1];
    assert.equal((JSON.parse(recovered?.body ?? '{}') as { event: string }).event, 'service.recovered');
    await cliJson(world.daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    assert.equal(receiver.accepted.length, 2, 'each change was told once');
    assert.equal(receiver.rejectedSignatures(), 0);
  });
});
