/**
 * Deploy: one redeploy of the unchanged fixture project through the daemon (deploy/start with wait: allocation,
 * plan, vault loans, pre-flight, ansible-playbook, clean-up) against
 * - the floor: one SSH session running the same steps as a plain shell script (git fetch + reset, write .env,
 *   compose pull, compose up -d, curl), with a per-task breakdown of the playbook (from the step plugin's task
 *   starts, timed as they arrive);
 * - a bare `ansible-playbook` run of the same playbook, inventory and extra vars: the daemon's overhead;
 * - the same bare run with Ansible's defaults (no pipelining, Ansible's own ControlPersist): what our ansible.cfg buys.
 * Target: the test sshd on loopback with the run's real container engine and registry (test/harness/engine.ts);
 * every run starts with no SSH master alive, as a deploy does.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnvironment, playbookArguments } from '../daemon/deploy/ansible.js';
import { inventoryFor } from '../daemon/deploy/inventoryFile.js';
import { closeMasters } from '../daemon/deploy/preflight.js';
import { PLAYBOOK_FILES, playbooksFolder, RUN_FILES, RunFolder } from '../daemon/deploy/runFolder.js';
import { DeployStart, type RunDetail } from '../daemon/protocol/runs.js';
import { DeployRollback } from '../daemon/protocol/releases.js';
import type { DaemonClient } from '../daemon/client/client.js';
import { buildWebImage, pushImage } from '../test/harness/images.js';
import { PLAYBOOK_EVENT_PREFIX } from '../daemon/deploy/playbookSteps.js';
import { cliJson, type RealDeployWorld, setUpRealDeployWorld } from '../test/integration/deploy-support.js';
import { type BenchRow, type BenchSection, formatMs, formatRatio, ratioRow } from './report.js';
import { interleaved, median } from './stats.js';

/**
 * `ZAVHOZ_BENCH_DEPLOY_QUICK=1`, for trying a change to the playbook on a busy machine: no run with Ansible's
 * defaults (40–80 s each on a loaded machine here), and `ZAVHOZ_BENCH_DEPLOY_ROLLBACK=0` leaves out the rollback
 * rows. `ZAVHOZ_BENCH_DEPLOY_SAMPLES=N` sets the number of timed redeploys (default 5),
 * `ZAVHOZ_BENCH_DEPLOY_ROLLBACK_SAMPLES=N` that of timed rollbacks and fresh deploys (default 3).
 */
const QUICK = process.env.ZAVHOZ_BENCH_DEPLOY_QUICK === '1';
const WITH_ROLLBACK = process.env.ZAVHOZ_BENCH_DEPLOY_ROLLBACK !== '0';
const SAMPLES = Number(process.env.ZAVHOZ_BENCH_DEPLOY_SAMPLES ?? '') || 5;
/** Daemon deploy / bare ansible-playbook, at most. */
const MAX_OVERHEAD = 1.05;
/** Daemon redeploy / the floor script, at most (issue 13). */
const MAX_OVER_FLOOR = 2;
/** Rollback / a fresh deploy of the same release, at most (issue 14). */
const MAX_ROLLBACK_OVER_DEPLOY = 1;
/** Timed rollbacks (and fresh deploys): each needs an untimed deploy of the other release before it. */
const ROLLBACK_SAMPLES = Number(process.env.ZAVHOZ_BENCH_DEPLOY_ROLLBACK_SAMPLES ?? '') || 3;
/** How many of the slowest playbook tasks the breakdown lists. */
const BREAKDOWN_TASKS = 12;

/** Ansible's defaults, except that its files stay in the bench folder rather than ~/.ansible. */
const DEFAULTS_CONFIG = ['[defaults]', 'home = ./ansible-home', 'local_tmp = ./tmp', 'retry_files_enabled = False', '[ssh_connection]', 'control_path_dir = ./cp', ''].join('\n');

/** Task name → milliseconds from its start to the next task's start (the last one: to the playbook's end). */
type TaskTimes = Map<string, number>;

/** Turns the step plugin's task starts, timed as they arrived, into per-task durations. */
function taskTimes(starts: readonly { task: string; at: number }[], end: number): TaskTimes {
  const times: TaskTimes = new Map();
  starts.forEach((start, index) => {
    const next = starts[index + 1]?.at ?? end;
    times.set(start.task, (times.get(start.task) ?? 0) + (next - start.at));
  });
  return times;
}

/** The name under which the per-task times hold the time from the spawn to the first task's start. */
const START_UP = '(ansible-playbook start-up, until its first task starts)';

/**
 * Plays that time Ansible itself against the same host, config and inventory: `empty` has no task (Ansible's own
 * start-up and end, no connection: a floor no playbook goes below), `command` one remote command (start-up, the SSH
 * connection and one module run: what the deploy's tasks that reach the server build on).
 */
const PROBE_PLAYS = {
  empty: ['- name: Empty', '  hosts: target', '  gather_facts: false', '  tasks: []', ''].join('\n'),
  command: [
    '- name: One command',
    '  hosts: target',
    '  gather_facts: false',
    '  tasks:',
    '    - name: True',
    '      ansible.builtin.command: "true"',
    '      changed_when: false',
    '',
  ].join('\n'),
} as const;

/**
 * Runs ansible-playbook (the run's playbook, or `playbook` in the same folder) to the end and returns its per-task
 * times, with {@link START_UP}; rejects if it fails.
 */
function runAnsible(folder: RunFolder, env: NodeJS.ProcessEnv, playbook?: string): Promise<TaskTimes> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const argv = playbookArguments(folder);
    if (playbook !== undefined) argv[argv.length - 1] = folder.file(playbook);
    const child = spawn('ansible-playbook', argv, { cwd: folder.path, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const starts: { task: string; at: number }[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      const at = performance.now();
      output += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith(PLAYBOOK_EVENT_PREFIX)) continue;
        const event = JSON.parse(line.slice(PLAYBOOK_EVENT_PREFIX.length)) as { event: string; task: string };
        if (event.event === 'start') starts.push({ task: event.task, at });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(new Map([[START_UP, (starts[0]?.at ?? performance.now()) - started], ...taskTimes(starts, performance.now())])) : reject(new Error(`ansible-playbook exited ${String(code)}:\n${output.slice(-2000)}`)),
    );
  });
}

/** What the floor script needs to know about the project on the target. */
interface FloorTarget {
  readonly project: string;
  readonly host: string;
  readonly port: number;
  readonly sshPort: number;
  readonly user: string;
  readonly keyFile: string;
  readonly knownHosts: string;
  readonly envContent: string;
}

/**
 * The floor: the deploy's steps as one plain shell script over one SSH session (no Ansible, no daemon): git fetch
 * and reset, write .env, compose pull, compose up -d, and one HTTP request to the page.
 */
function floorDeploy(target: FloorTarget): Promise<number> {
  const compose = `$(if docker compose version >/dev/null 2>&1; then echo docker compose; else echo docker-compose; fi) -p ${target.project} --env-file .env -f infra/compose.base.yml -f infra/compose.prod.yml`;
  const script = [
    'set -e',
    `cd /opt/services/${target.project}`,
    'git fetch -q origin main && git reset -q --hard FETCH_HEAD',
    "umask 077 && cat > .env <<'ZAVHOZ_FLOOR_ENV'",
    target.envContent.replace(/\n$/, ''),
    'ZAVHOZ_FLOOR_ENV',
    `${compose} pull -q`,
    `${compose} up -d --remove-orphans 2>/dev/null`,
    `curl -fsS -o /dev/null http://${target.host}:${target.port}/`,
    '',
  ].join('\n');
  const started = performance.now();
  // Asynchronous: the registry relay the fixture's images go through runs in this process's event loop.
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ssh',
      ['-F', '/dev/null', '-i', target.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${target.knownHosts}`,
        '-o', 'StrictHostKeyChecking=yes', '-p', String(target.sshPort), `${target.user}@${target.host}`, 'sh', '-s'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`the floor script exited ${String(code)}:\n${errors}`))));
    child.stdin.end(script);
  });
}

/**
 * Rollback wall time against a fresh deploy of the same release (issue 14): the server runs release B (a new image
 * under the fixture's tag), then either `deploy/rollback` to release A (its image by digest) or the tag is pointed
 * back at A's image and A is deployed again. Both replace the backend's container; only the timed call is counted.
 */
export async function rollbackRows(world: RealDeployWorld, client: DaemonClient, base: { readonly folder: string; readonly repoUrl: string }): Promise<BenchRow[]> {
  const project = world.newProject('rollback');
  // Every sample records releases; release A must outlive them all.
  await cliJson(world.daemon, ['config', 'set', 'releasesKept', '1000']);
  await world.storeSecret('API_TOKEN', 'token', 'bench-rollback-api-token', project);
  await world.storeSecret('WEBHOOK_SECRET', 'text', 'bench-rollback-webhook', project);
  const { engine, image } = world.target;
  // Local tags keep both images from the playbook's prune; the fixture's tag is moved between them.
  const keptA = `${image.repository}:bench-release-a`;
  await engine.docker(['tag', image.reference, keptA]);
  const imageB = await buildWebImage(engine, { name: image.repository.slice(image.repository.indexOf('/') + 1), tag: 'bench-release-b', version: '2.0.0' });
  const tagAt = async (source: string): Promise<void> => {
    await engine.docker(['tag', source, image.reference]);
    await pushImage(engine, image.reference);
  };
  const deploy = async (): Promise<RunDetail> => {
    const run = await client.request(DeployStart, { ...base, project, repository: 'Acme/Demo', timeoutSeconds: 600, wait: true });
    if (run.status !== 'succeeded') throw new Error(`bench deploy ${run.id} ${run.status}: ${run.error ?? ''}`);
    return run;
  };
  try {
    await tagAt(keptA);
    const releaseA = (await deploy()).releaseId;
    if (releaseA === null) throw new Error('the first deploy recorded no release');
    const toB = async (): Promise<void> => {
      await tagAt(imageB.reference);
      await deploy();
    };
    const rollback = async (): Promise<number> => {
      await toB();
      const started = performance.now();
      const run = await client.request(DeployRollback, { project, to: releaseA, wait: true });
      const elapsed = performance.now() - started;
      if (run.status !== 'succeeded') throw new Error(`bench rollback ${run.id} ${run.status}: ${run.error ?? ''}`);
      return elapsed;
    };
    const freshDeploy = async (): Promise<number> => {
      await toB();
      await tagAt(keptA);
      const started = performance.now();
      await deploy();
      return performance.now() - started;
    };
    const [rollbackTimes = [], deployTimes = []] = await interleaved([rollback, freshDeploy], { count: ROLLBACK_SAMPLES, warmup: 1, block: 1 });
    return [
      ratioRow(
        `rollback to the previous release vs a fresh deploy of it (B running; medians of ${ROLLBACK_SAMPLES})`,
        median(rollbackTimes),
        median(deployTimes),
        MAX_ROLLBACK_OVER_DEPLOY,
      ),
    ];
  } finally {
    await tagAt(keptA).catch(() => undefined);
    await cliJson(world.daemon, ['config', 'set', 'releasesKept', '10']).catch(() => undefined);
  }
}

/**
 * Where a daemon deploy's time goes, step by step (medians of the timed runs, from each step's recorded start and
 * end): what the daemon adds to the playbook is in the steps around it, and in the gaps between them.
 */
function daemonStepRows(runs: readonly RunDetail[]): BenchRow[] {
  if (runs.length === 0) return [];
  const names = [...new Set(runs.flatMap((run) => run.steps.map((step) => step.name)))];
  const spanOf = (run: RunDetail, name: string): number => {
    const step = run.steps.find((candidate) => candidate.name === name);
    if (step?.startedAt === undefined || step.finishedAt === undefined) return 0;
    return Date.parse(step.finishedAt) - Date.parse(step.startedAt);
  };
  return names.map((name) => ({ name: `  daemon step: ${name}`, value: formatMs(median(runs.map((run) => spanOf(run, name)))) }));
}

/** Benchmarks a daemon deploy against bare ansible-playbook, and our ansible.cfg against Ansible's defaults. */
export async function benchDeploy(): Promise<BenchSection> {
  const world = await setUpRealDeployWorld({ name: 'bench' });
  const bench = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-deploy-'));
  const bareFolders: RunFolder[] = [];
  try {
    const project = world.newProject('bench');
    await world.storeSecret('API_TOKEN', 'token', 'bench-api-token-value', project);
    await world.storeSecret('WEBHOOK_SECRET', 'text', 'bench-webhook-value', project);
    const client = await world.daemon.connect('bench');
    const params = {
      folder: world.fixture,
      project,
      repository: 'Acme/Demo',
      ref: 'main',
      bindings: {},
      repoUrl: world.repository.url,
      registry: 'ghcr.io',
      timeoutSeconds: 600,
      wait: true,
    };
    const daemonDeploy = async (): Promise<number> => {
      const started = performance.now();
      const run: RunDetail = await client.request(DeployStart, params);
      const elapsed = performance.now() - started;
      if (run.status !== 'succeeded') throw new Error(`bench deploy ${run.id} ${run.status}: ${run.error ?? ''}`);
      daemonRuns.push(run);
      return elapsed;
    };
    const daemonRuns: RunDetail[] = [];
    // The first deploy clones and generates the infra secrets; the timed ones are redeploys.
    const first = await client.request(DeployStart, params);
    if (first.status !== 'succeeded') throw new Error(`bench deploy ${first.status}: ${first.error ?? ''}`);

    // The bare runs get what the daemon's run had: its playbook, an inventory made the same way, the same key,
    // host key and extra vars (the .env content is read back from the server, where the first deploy wrote it).
    const target = {
      server: world.server,
      host: world.sshd.host,
      sshPort: world.sshd.port,
      sshUser: world.sshd.user,
      sshKeySecret: world.sshKeyHandle,
      hostKeyFingerprint: world.sshd.hostKeyFingerprint,
      port: first.allocation?.port ?? 0,
      modulePorts: first.allocation?.modulePorts ?? {},
    };
    const extraVars = {
      project,
      repo_url: world.repository.url,
      git_ref: 'main',
      app_port: target.port,
      health_checks: Object.entries(target.modulePorts).map(([module, port]) => ({ module, url: `http://${target.host}:${port}/`, strict: false })),
      env_file_content: fs.readFileSync(path.join('/opt/services', project, '.env'), 'utf8'),
      registry: 'ghcr.io',
      registry_user: 'Acme',
    };
    const hostKey = fs.readFileSync(path.join(world.sshd.dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const bareFolder = (name: string, config: string): { folder: RunFolder; env: NodeJS.ProcessEnv } => {
      const folder = new RunFolder(path.join(bench, name));
      bareFolders.push(folder);
      fs.mkdirSync(folder.path, { mode: 0o700 });
      for (const file of PLAYBOOK_FILES) {
        fs.mkdirSync(path.dirname(folder.file(file)), { recursive: true });
        fs.copyFileSync(path.join(playbooksFolder(), file), folder.file(file));
      }
      for (const [name, play] of Object.entries(PROBE_PLAYS)) fs.writeFileSync(folder.file(`probe-${name}.yml`), play);
      fs.writeFileSync(folder.file(RUN_FILES.config), config);
      fs.mkdirSync(folder.file(RUN_FILES.tmp), { mode: 0o700 });
      folder.writePrivate(RUN_FILES.controlPointer, fs.mkdtempSync(path.join('/tmp', 'zavhoz-cp-')));
      folder.writePrivate(RUN_FILES.inventory, inventoryFor(target, folder));
      folder.writePrivate(RUN_FILES.extraVars, JSON.stringify(extraVars));
      folder.writePrivate(RUN_FILES.sshKey, world.sshd.clientKey.privateKeyPem);
      folder.writePrivate(RUN_FILES.knownHosts, `[${target.host}]:${target.sshPort} ${hostKey}\n`);
      return { folder, env: childEnvironment(folder, { runId: 'bench', requestId: 'bench' }) };
    };
    const ours = bareFolder('ours', fs.readFileSync(path.join(playbooksFolder(), RUN_FILES.config), 'utf8'));
    const defaults = bareFolder('defaults', DEFAULTS_CONFIG);
    const oursTasks: TaskTimes[] = [];
    const bare = (setup: { folder: RunFolder; env: NodeJS.ProcessEnv }) => async (): Promise<number> => {
      const started = performance.now();
      const tasks = await runAnsible(setup.folder, setup.env);
      const elapsed = performance.now() - started;
      if (setup === ours) oursTasks.push(tasks);
      // Untimed: every run starts without a master, like a deploy (whose own clean-up is inside its time).
      await closeMasters(setup.folder.controlSockets(), setup.env);
      return elapsed;
    };

    // Ansible alone (PROBE_PLAYS), with our ansible.cfg; like the deploy, each starts with no SSH master.
    const probe = (name: keyof typeof PROBE_PLAYS) => async (): Promise<number> => {
      const started = performance.now();
      await runAnsible(ours.folder, ours.env, `probe-${name}.yml`);
      const elapsed = performance.now() - started;
      await closeMasters(ours.folder.controlSockets(), ours.env);
      return elapsed;
    };

    const floorTarget: FloorTarget = {
      project,
      host: target.host,
      port: target.port,
      sshPort: target.sshPort,
      user: target.sshUser,
      keyFile: ours.folder.file(RUN_FILES.sshKey),
      knownHosts: ours.folder.file(RUN_FILES.knownHosts),
      envContent: extraVars.env_file_content,
    };
    const floor = (): Promise<number> => floorDeploy(floorTarget);

    const contenders = [daemonDeploy, bare(ours), floor, probe('empty'), probe('command'), ...(QUICK ? [] : [bare(defaults)])];
    const [daemonTimes = [], oursTimes = [], floorTimes = [], emptyTimes = [], commandTimes = [], defaultTimes = []] = await interleaved(contenders, {
      count: SAMPLES,
      warmup: 1,
      block: 1,
    });
    const rollback = WITH_ROLLBACK ? await rollbackRows(world, client, params) : [];
    client.close();
    const runs = await cliJson<unknown[]>(world.daemon, ['run', 'list', '--project', project]);
    const daemonMedian = median(daemonTimes);
    const oursMedian = median(oursTimes);
    const defaultsMedian = QUICK ? Number.NaN : median(defaultTimes);
    const floorMedian = median(floorTimes);
    // Per task: the median over the timed bare runs (ours), slowest first.
    const taskNames = [...new Set(oursTasks.flatMap((tasks) => [...tasks.keys()]))];
    const perTask = taskNames
      .map((name) => ({ name, ms: median(oursTasks.map((tasks) => tasks.get(name) ?? 0)) }))
      .sort((a, b) => b.ms - a.ms);
    return {
      title: `deploy: redeploy of the unchanged fixture project over SSH, real engine (medians of ${SAMPLES}, interleaved; ${runs.length} daemon runs)`,
      rows: [
        ratioRow('daemon redeploy vs floor (one SSH session: git fetch, .env, compose pull, up -d, curl)', daemonMedian, floorMedian, MAX_OVER_FLOOR),
        ...perTask.slice(0, BREAKDOWN_TASKS).map((task) => ({
          name: `  playbook task: ${task.name}`,
          value: formatMs(task.ms),
          baseline: `${((task.ms / oursMedian) * 100).toFixed(0)} % of the playbook`,
        })),
        {
          name: 'ansible-playbook of an empty play against the same host (start-up and end, no connection)',
          value: formatMs(median(emptyTimes)),
          baseline: `${formatRatio(median(emptyTimes) / floorMedian)} of the floor`,
        },
        {
          name: 'ansible-playbook of one remote command (start-up, SSH connection, one module run)',
          value: formatMs(median(commandTimes)),
          baseline: `${formatRatio(median(commandTimes) / floorMedian)} of the floor`,
        },
        ratioRow('daemon deploy vs bare ansible-playbook (same playbook, inventory, vars)', daemonMedian, oursMedian, MAX_OVERHEAD),
        ...daemonStepRows(daemonRuns.slice(1)),
        ...(QUICK ? [] : [{
          name: 'our ansible.cfg (pipelining, ControlPersist) vs Ansible defaults: speed-up',
          value: formatMs(oursMedian),
          baseline: formatMs(defaultsMedian),
          ratio: defaultsMedian / oursMedian,
          goal: 'speed-up > 1×',
          ok: defaultsMedian / oursMedian > 1,
        }]),
        { name: 'daemon overhead per deploy (median difference)', value: formatMs(Math.max(0, daemonMedian - oursMedian)), baseline: formatRatio(daemonMedian / oursMedian) },
        ...rollback,
      ],
    };
  } finally {
    for (const folder of bareFolders) folder.removeSecrets();
    fs.rmSync(bench, { recursive: true, force: true });
    await world.dispose();
  }
}
