/**
 * A CI redeploy (the deploy key's forced-command helper, daemon/cikey/remote.ts) and a Zavhoz deploy of the same
 * project, started at once on one server, never run compose for the project at the same time (issue 16): both take
 * the project's lock on the server (/opt/services/<project>/.zavhoz.lock), and the one that waits says so.
 * Real daemon, keychain, sshd, ansible-playbook, git, container engine, registry and compose. The helper runs as it
 * does after the forced command's sudo (as root, `PROJECT --root`): what the key may run is ci-key.test.ts's subject.
 * Stand-in: the registry relay holds the deploy's pull (a slow network), so the CI redeploy starts while the deploy
 * is inside a compose step.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CI_DEPLOY_HELPER_SCRIPT } from '../../daemon/cikey/remote.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { waitUntil } from '../harness/processes.js';
import { cliJson, deployAndWait, deployArguments, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

/** A process as `ps` lists it. */
interface ProcessEntry {
  readonly pid: number;
  readonly parent: number;
  readonly args: string;
}

function processList(): ProcessEntry[] {
  const lines = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).split('\n');
  return lines.flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return match ? [{ pid: Number(match[1]), parent: Number(match[2]), args: match[3] ?? '' }] : [];
  });
}

/**
 * Who runs compose for `project` right now: `ci` (a process under the CI helper), `zavhoz` (under a deploy's compose
 * step, `zavhoz-compose-lock`). The helper and the lock script themselves are not compose runs.
 */
function composeRunners(project: string, helper: string): Set<'ci' | 'zavhoz'> {
  const processes = processList();
  const byPid = new Map(processes.map((entry) => [entry.pid, entry]));
  const runners = new Set<'ci' | 'zavhoz'>();
  for (const entry of processes) {
    if (!entry.args.includes(` -p ${project} `) || entry.args.includes('zavhoz-compose-lock') || entry.args.includes(helper)) continue;
    for (let ancestor = byPid.get(entry.parent); ancestor !== undefined && ancestor.pid > 1; ancestor = byPid.get(ancestor.parent)) {
      if (ancestor.args.includes(helper)) runners.add('ci');
      if (ancestor.args.includes('zavhoz-compose-lock')) runners.add('zavhoz');
    }
  }
  return runners;
}

describe('a CI redeploy and a Zavhoz deploy of the same project are serialized on the server', () => {
  let world: RealDeployWorld;
  let work: string;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'cilock' });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-cilock-'));
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    world?.target.relay.stall(false);
    await world?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('started at once, they take turns: the one that waits says so, compose never runs for both, both succeed', async () => {
    const project = world.newProject('cilock');
    await storeUserSecrets(world, project);
    const { run: first } = await deployAndWait(world, project);
    // A new .env value, so that the deploy's `up` runs (an unchanged redeploy skips it, issue 13) and meets the CI
    // redeploy, which takes the lock once the deploy's pull lets it go.
    const tokenHandle = first.plan?.variables.find((variable) => variable.name === 'API_TOKEN')?.handle ?? '';
    const rotated = `api-cilock-${crypto.randomBytes(12).toString('hex')}`;
    await cliJson(world.daemon, ['secret', 'rotate', tokenHandle], rotated);
    world.values.set(`${tokenHandle}-cilock`, rotated);

    const helper = path.join(work, 'ci-deploy');
    fs.writeFileSync(helper, CI_DEPLOY_HELPER_SCRIPT, { mode: 0o755 });
    const lockFile = `/opt/services/${project}/.zavhoz.lock`;

    // The deploy holds the lock inside its pull, which the relay holds; the CI redeploy starts meanwhile.
    world.target.relay.stall(true);
    let run: RunDetail;
    let ci: { code: number | null; stderr: string; done: Promise<void> };
    const overlaps: string[] = [];
    const seen = new Set<string>();
    // `as boolean`: the test clears it while the loop awaits, out of the checker's narrowing.
    let sampling = true as boolean;
    const sampler = (async () => {
      while (sampling) {
        const runners = composeRunners(project, helper);
        for (const runner of runners) seen.add(runner);
        if (runners.size > 1) overlaps.push(new Date().toISOString());
        await delay(20);
      }
    })();
    try {
      run = await cliJson<RunDetail>(world.daemon, deployArguments(world, project));
      await waitUntil('the deploy to be in its pull, under the server lock', () => (world.target.relay.held > 0 ? true : undefined), 300_000);
      assert.ok(fs.existsSync(lockFile), 'the deploy created the project\'s server lock file');

      const child = spawn('sh', [helper, project, '--root'], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...world.target.engine.env, DOCKER_CONFIG: world.target.configDir },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      ci = { code: null, stderr: '', done: Promise.resolve() };
      const state = ci;
      child.stderr.on('data', (chunk: Buffer) => (state.stderr += chunk.toString()));
      state.done = new Promise((resolve) => child.once('close', (code) => resolve(void (state.code = code))));
      await waitUntil('the CI redeploy to wait for the lock', () => (state.stderr.includes('waiting for another deploy') ? true : undefined), 60_000);
      assert.equal(state.code, null, 'the CI redeploy waits while the deploy holds the lock');
    } finally {
      world.target.relay.stall(false);
    }

    await ci.done;
    assert.equal(ci.code, 0, `the CI redeploy succeeded once the lock was free: ${ci.stderr}`);
    assert.match(ci.stderr, new RegExp(`ci-deploy: waited \\d+ s for the other deploy of ${project}`));
    const finished = await waitUntil(
      'the deploy to end',
      async () => {
        const detail = await cliJson<RunDetail>(world.daemon, ['run', 'show', run.id]);
        return detail.status === 'running' || detail.status === 'queued' ? undefined : detail;
      },
      300_000,
    );
    sampling = false;
    await sampler;
    const log = fs.readFileSync(path.join(finished.folder, 'run.log'), 'utf8');
    assert.equal(finished.status, 'succeeded', `${finished.error ?? ''}\n${log.split('\n').slice(-40).join('\n')}`);
    assert.deepEqual(overlaps, [], 'compose never ran for the project from both at once');
    assert.ok(seen.has('ci') && seen.has('zavhoz'), `both ran compose (seen: ${[...seen].join(', ')})`);
    // The CI redeploy took the lock when the deploy's pull let it go: the deploy's `up` waited for it and said so.
    assert.match(log, /waiting for the server lock of this project: a CI redeploy of it is running/);
    assert.match(log, /waited \d+ s for the CI redeploy to finish/);
  });
});
