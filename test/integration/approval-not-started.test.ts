/**
 * An approved run that cannot start (issue 18): a real daemon and vault on a private keychain, a real sshd as the
 * server (with the docker test double: nothing here gets as far as the server). A protected project's deploy waits
 * for approval; while it waits, a secret it needs is deleted; approving it then cannot start it. The person who
 * approves is told why, the request becomes a failed run saying why (in `run show`, `run list` and the Runs view),
 * and the CLI that waited for the decision ends with that run instead of waiting on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunDetail, RunSummary } from '../../daemon/protocol/runs.js';
import { waitUntil } from '../harness/processes.js';
import { cliJson, deployArguments, type DeployWorld, setUpDeployWorld } from './deploy-support.js';

describe('an approved run that cannot start', { timeout: 600_000 }, () => {
  let world: DeployWorld;

  before(async () => {
    world = await setUpDeployWorld();
    await cliJson(world.daemon, ['config', 'set', 'protectedProjects', JSON.stringify(['guarded-*'])]);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('is a failed run saying why, the approver is told, and the waiting CLI ends with it', async () => {
    const { daemon } = world;
    const project = world.newProject('guarded');
    const apiToken = await world.storeSecret('API_TOKEN', 'token', 'approval-not-started-api-token', project);
    await world.storeSecret('WEBHOOK_SECRET', 'text', 'approval-not-started-webhook', project);
    const dockerCalls = world.docker.calls().length;
    const runsOf = (): Promise<RunSummary[]> => cliJson<RunSummary[]>(daemon, ['run', 'list', '--project', project]);

    const waiter = daemon.cli([...deployArguments(world, project), '--wait']);
    const waitingId = await waitUntil('the deploy to wait for approval', async () => (await runsOf()).find((run) => run.status === 'awaiting_approval')?.id, 120_000);
    // While it waits, the secret it was asked with goes away: its start is refused now.
    await cliJson(daemon, ['secret', 'delete', apiToken]);

    const approved = await daemon.cli(['run', 'approve', waitingId]);
    assert.equal(approved.code, 1, approved.stdout);
    assert.match(approved.stderr, /API_TOKEN/, 'the approver is told why it could not start');

    const followed = await waiter;
    assert.equal(followed.code, 1, followed.stderr);
    assert.match(followed.stderr, new RegExp(`waiting for approval ${waitingId}`));
    assert.match(followed.stderr, /approved by cli; run run_[a-z2-7]{10} could not start$/m);
    assert.match(followed.stdout, /^run_[a-z2-7]{10} failed: The deploy could not start: [\s\S]*API_TOKEN/);

    const shown = await cliJson<RunDetail>(daemon, ['run', 'show', waitingId]);
    assert.match(shown.id, /^run_[a-z2-7]{10}$/, 'the request answers the run it became');
    assert.equal(shown.status, 'failed');
    assert.equal(shown.kind, 'deploy');
    assert.equal(shown.project, project);
    assert.equal(shown.client, 'cli', 'under the name of the person who approved it');
    assert.match(shown.error ?? '', /^The deploy could not start: [\s\S]*API_TOKEN/);
    assert.deepEqual((await runsOf()).map((run) => [run.id, run.status]), [[shown.id, 'failed']], 'it no longer waits, and it is in the history');

    const again = await daemon.cli(['run', 'approve', waitingId]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /approved already \(by cli\); ask for the deploy again/);
    assert.ok(!fs.existsSync(path.join('/opt/services', project)), 'nothing reached the server');
    assert.equal(world.docker.calls().length, dockerCalls, 'no docker command ran on the server');
  });
});
