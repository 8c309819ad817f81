/**
 * `zavhoz undeploy` end to end: a real daemon and vault, a real sshd as the target, real Ansible deploys of the
 * fixture project onto the run's real container engine, then undeploys over SSH. Stand-ins: the firewall
 * (test/fakes/ufw keeps the rules it was given, since the real one may not be changed here) and GitHub's API
 * (test/fakes/github.ts, which now also deletes secrets).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { deployUserOf } from '../../daemon/cikey/remote.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditRecord } from '../../daemon/audit/auditLog.js';
import type { Allocation } from '../../daemon/protocol/allocations.js';
import type { ReleaseSummary } from '../../daemon/protocol/releases.js';
import type { RunSummary } from '../../daemon/protocol/runs.js';
import type { UndeployResult } from '../../daemon/protocol/undeploy.js';
import { FakeGithub } from '../fakes/github.js';
import { CLI_SCRIPT } from '../harness/daemon.js';
import { waitUntil } from '../harness/processes.js';
import { cliJson, deployAndWait, deployArguments, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

/** Runs the CLI on a pseudo-terminal (util-linux `script`), answers the first question with `answer`, and returns its screen. */
async function onTerminal(args: readonly string[], env: NodeJS.ProcessEnv, question: RegExp, answer: string): Promise<{ code: number; screen: string }> {
  const command = [process.execPath, CLI_SCRIPT, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: 'pipe' });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  const done = new Promise<{ code: number; screen: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, screen }));
  });
  // readline redraws a prompt wider than the terminal with cursor moves: compare the text without them.
  const escape = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
  const text = (): string => screen.replace(escape, '').replace(/[\r\n]/g, '');
  try {
    await waitUntil(`the terminal to show ${String(question)}`, () => (question.test(text()) ? true : undefined), 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; it shows ${JSON.stringify(screen)}`);
  }
  child.stdin.write(answer);
  return done;
}

describe('undeploy: nothing of the project is left on the server, its allocation and CI secrets go', () => {
  let world: RealDeployWorld;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'undeploy' });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
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

      // Its release is archived: gone from the list and from rollback, kept for the record.
      assert.deepEqual(await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]), []);
      const archived = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project, '--archived']);
      assert.deepEqual(archived.map((release) => release.number), [1]);
      assert.ok(archived[0]?.archivedAt, 'the archived release says when');
      const refused = await world.daemon.cli(['rollback', '--project', project, '--to', archived[0].id]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /archived when .* was undeployed/);

      // The project can come back: the same deploy works again from nothing, as its next release.
      const again = await deployAndWait(world, project);
      assert.match(await page(again.run.allocation?.port ?? 0), /^test-web 1\.0\.0$/m);
      const current = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]);
      assert.deepEqual(current.map((release) => release.number), [2]);
      assert.equal((await undeploy(project)).status, 'succeeded');
    } finally {
      world.ufw.setState('inactive');
      await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', '""']);
      await github.stop();
    }
  });

  test('--keep-data keeps the named volume (and only it) with compose v2; an image another project runs stays; UFW without root is a warning', async () => {
    world.target.setComposeV2(true);
    try {
      const project = world.newProject('keep');
      const neighbour = world.newProject('next');
      for (const name of [project, neighbour]) {
        await storeUserSecrets(world, name);
        await deployAndWait(world, name);
      }
      const volumes = (await leftOf(project)).volumes;
      assert.ok(volumes.some((volume) => volume.endsWith('db-data')), volumes.join(','));

      world.ufw.setState('needs-root');
      const result = await undeploy(project, '--keep-data');
      world.ufw.setState('inactive');
      assert.equal(result.status, 'succeeded', result.error ?? '');
      const left = await leftOf(project);
      assert.deepEqual(left.containers, []);
      assert.deepEqual(left.networks, []);
      assert.deepEqual(left.volumes.sort(), volumes.sort(), 'the named volume is still there');
      assert.deepEqual(result.removed.keptVolumes, volumes.sort());
      assert.deepEqual(result.removed.volumes, []);
      assert.equal(fs.existsSync(path.join('/opt/services', project)), false);
      assert.deepEqual(await allocationsOf(project), []);
      assert.deepEqual(result.removed.images, [], 'the neighbour still runs the image');
      assert.match(result.steps.find((step) => step.name === 'images')?.detail ?? '', /kept .*used by another container/);
      assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
      assert.match(result.warnings[0] ?? '', /UFW on deploy_target could not be changed \(ERROR: You need to be root.*\); delete the rule by hand: sudo ufw delete allow \d+\/tcp/);
      assert.equal((await leftOf(neighbour)).containers.length, 2, 'the neighbour is untouched');
      await docker('volume', 'rm', ...volumes);

      const last = await undeploy(neighbour);
      assert.deepEqual(last.removed.images, [world.target.reference], 'once nothing runs it, the image goes');
    } finally {
      world.ufw.setState('inactive');
      world.target.setComposeV2(false);
    }
  });

  test('without --yes and a terminal it refuses; a project already gone from its server is still released; one never allocated is an error', async () => {
    const project = world.newProject('half');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);

    const refused = await world.daemon.cli(['undeploy', '--project', project]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /pass --yes/);
    assert.equal((await allocationsOf(project)).length, 1, 'nothing changed');
    const question = new RegExp(`Undeploy ${project} from server ${world.server}\\? This removes its containers, networks, volumes \\(its data\\) .*/opt/services/${project}.*port\\(s\\) \\d+.*\\[y/N\\] ?$`);
    if (hasScript) {
      const declined = await onTerminal(['undeploy', '--project', project], world.daemon.env, question, 'n\r');
      assert.equal(declined.code, 1, declined.screen);
      assert.match(declined.screen, /Nothing was changed/);
      assert.equal((await allocationsOf(project)).length, 1, 'nothing changed');
    }

    // Someone cleaned the server by hand, but for the named volume: the allocation and the volume are left.
    await docker('rm', '--force', '--volumes', ...(await leftOf(project)).containers);
    for (const network of (await leftOf(project)).networks) await docker('network', 'rm', network);
    fs.rmSync(path.join('/opt/services', project), { recursive: true, force: true });
    if (hasScript) {
      const confirmed = await onTerminal(['undeploy', '--project', project], world.daemon.env, question, 'y\r');
      assert.equal(confirmed.code, 0, confirmed.screen);
      assert.match(confirmed.screen, new RegExp(`Undeployed ${project} from ${world.server}: 0 container\\(s\\), 1 volume\\(s\\), 0 image\\(s\\) removed\\.`));
      assert.match(confirmed.screen, /^release: succeeded \(released app\)/m);
    } else {
      const result = await undeploy(project);
      assert.equal(result.status, 'succeeded', result.error ?? '');
      assert.equal(result.removed.folder, false);
      assert.equal(result.removed.containers, 0);
    }
    assert.deepEqual(await allocationsOf(project), []);
    assert.deepEqual(await leftOf(project), { containers: [], networks: [], volumes: [] }, 'the named volume left behind went too');

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

  test('an undeploy waiting for a deploy can be cancelled: nothing is removed and the allocation stays', async () => {
    const project = world.newProject('stay');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
    const started = await cliJson<RunSummary>(world.daemon, deployArguments(world, project));
    await waitUntil('the redeploy to run', async () => ((await cliJson<RunSummary>(world.daemon, ['run', 'show', started.id])).status === 'running' ? true : undefined), 30_000);
    const undeploying = world.daemon.cli(['undeploy', '--project', project, '--yes', '--json']);
    const cancelled = await waitUntil(
      'the waiting undeploy to be cancelled',
      async () => {
        const attempt = await world.daemon.cli(['undeploy', '--project', project, '--cancel', '--json']);
        return attempt.code === 0 ? (JSON.parse(attempt.stdout) as UndeployResult) : undefined;
      },
      30_000,
    );
    assert.equal(cancelled.status, 'cancelled');
    const result = await undeploying;
    assert.equal(result.code, 1);
    const answer = JSON.parse(result.stdout) as UndeployResult;
    assert.equal(answer.status, 'cancelled');
    assert.match(answer.error ?? '', /cancelled during wait; its allocation is kept/);
    const ended = await waitUntil('the redeploy to end', async () => {
      const run = await cliJson<RunSummary>(world.daemon, ['run', 'show', started.id]);
      return run.status === 'running' || run.status === 'queued' ? undefined : run;
    }, 300_000);
    assert.equal(ended.status, 'succeeded', 'the deploy went on undisturbed');
    assert.equal((await allocationsOf(project)).length, 1);
    assert.equal((await leftOf(project)).containers.length, 2, 'nothing was removed');
    assert.equal((await undeploy(project)).status, 'succeeded');
  });
});
