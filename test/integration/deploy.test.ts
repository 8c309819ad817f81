/**
 * The deploy pipeline end to end: a real daemon, the real vault on a private keychain, a real sshd on loopback as
 * the target, real ansible-playbook, a real git clone from a local bare repository, and the run's real container
 * engine with its registry and compose (v1, and v2 for one deploy): the project's containers start, serve and fail
 * for real. Stand-ins: the firewall (test/fakes/ufw: it may not be changed here) and a TCP relay in front of the
 * registry that can hold a pull (deploy-support.ts `RegistryRelay`), standing for a slow network.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { isCancelled } from '../../daemon/client/client.js';
import { deployUserOf } from '../../daemon/cikey/remote.js';
import { removeCiDeployUser } from '../harness/ciDeployUsers.js';
import { composeV2Plugin } from '../harness/engine.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { FakeGithub } from '../fakes/github.js';
import type { EnvPlan } from '../../daemon/protocol/env.js';
import { DeployStart, type RunDetail, RunsDidChange, RunsLogLines, type RunSummary } from '../../daemon/protocol/runs.js';
import {
  cliJson,
  deployAndWait,
  deployArguments,
  dropSshConnections,
  gitCredentialFolders,
  gitCredentialsPrefix,
  processesMentioning,
  readDotenv,
  type RealDeployWorld,
  sampleProcessList,
  setUpRealDeployWorld,
  storeUserSecrets as storeSecretsOfFixture,
} from './deploy-support.js';
import { filesHolding } from '../harness/leaks.js';
import { waitUntil } from '../harness/processes.js';

/** Files a finished run folder may hold: the log, the playbook, config and step plugin used, and the inventory. */
const KEPT_FILES = ['action_plugins', 'ansible.cfg', 'callback_plugins', 'deploy_after_health.yml', 'deploy_before_up.yml', 'deploy_containers.yml', 'deploy_prepare_failed.yml', 'deploy_project.yml', 'inventory.yml', 'proxy_switch_finish.yml', 'proxy_switch_start.yml', 'run.log'];

/** One of a compose project's containers, as the engine reports it. */
interface Container {
  readonly id: string;
  readonly service: string;
  readonly state: string;
  readonly startedAt: string;
  readonly image: string;
  /** The compose that created it (`com.docker.compose.version`: 1.x for v1, 2.x for v2). */
  readonly composeVersion: string;
}

/** An unchanged redeploy's log: the images and containers were skipped in one task, so `compose up` never ran. */
function assertUpSkipped(runLog: string): void {
  assert.match(runLog, /TASK \[Images and containers\][^\n]*\nskipping: \[target\]/);
  assert.doesNotMatch(runLog, /TASK \[Start containers\]/, 'no task of the skipped include ran');
}

/** Where the playbook keeps a run's registry login on the target (it prefers tmpfs), while the run pulls. */
function registryCredentialFolders(): string[] {
  return ['/dev/shm', '/tmp'].flatMap((base) =>
    fs.existsSync(base) ? fs.readdirSync(base).filter((name) => name.startsWith('zavhoz-registry-')).map((name) => path.join(base, name)) : [],
  );
}

/** Every file of a folder (recursively) as text, to look for secrets in. */
function folderText(folder: string): string {
  return fs
    .readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8'))
    .join('\n');
}

describe('deploy: env plan, Ansible runs over SSH, run lifecycle, real containers', () => {
  let world: RealDeployWorld;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'deploy' });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  const deployArgs = (project: string, extra: readonly string[] = []): string[] => deployArguments(world, project, extra);
  const storeUserSecrets = (project: string): Promise<{ apiToken: string; webhook: string }> => storeSecretsOfFixture(world, project);

  const runDetail = (id: string): Promise<RunDetail> => cliJson<RunDetail>(world.daemon, ['run', 'show', id]);

  /** The project's containers on the engine (by its compose project label), sorted by service. */
  const containersOf = async (project: string): Promise<Container[]> => {
    const { engine } = world.target;
    const ids = (await engine.docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])).stdout.split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const format = '{{.Id}}|{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{.State.StartedAt}}|{{.Image}}|{{index .Config.Labels "com.docker.compose.version"}}';
    const { stdout } = await engine.docker(['inspect', '--format', format, ...ids]);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id = '', service = '', state = '', startedAt = '', image = '', composeVersion = ''] = line.split('|');
        return { id, service, state, startedAt, image, composeVersion };
      })
      .sort((a, b) => a.service.localeCompare(b.service));
  };

  /** The page of the project's published port. */
  const page = async (port: number): Promise<{ status: number; body: string }> => {
    const answer = await fetch(`http://${world.sshd.host}:${port}/`, { signal: AbortSignal.timeout(10_000) });
    return { status: answer.status, body: await answer.text() };
  };

  /** After the daemon was killed and restarted under a run: it ended `interrupted`, kept only its log, and no playbook of it is left. */
  const assertInterruptedByCrash = async (run: RunDetail): Promise<void> => {
    const after = await runDetail(run.id);
    assert.equal(after.status, 'interrupted');
    assert.match(after.error ?? '', /daemon stopped while this run was running/);
    assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
    await waitUntil('the orphaned playbook to be gone', () => (processesMentioning(run.folder).length === 0 ? true : undefined), 10_000);
  };

  /** The next deploy (main) recovers the project: both services run and the page answers with the release. */
  const assertNextDeployServes = async (project: string): Promise<void> => {
    const { run: next } = await deployAndWait(world, project);
    assert.deepEqual((await containersOf(project)).map((container) => `${container.service}:${container.state}`), ['backend:running', 'db:running']);
    assert.match((await page(next.allocation?.port ?? 0)).body, /^test-web 1\.0\.0$/m);
  };

  /** The registry's login, as a user stores it: the token handle and the request fields that go with it. */
  const registryLogin = async (token: string, project: string): Promise<{ registryToken: string; registry: string; registryUser: string }> => ({
    registryToken: await world.storeSecret('REGISTRY_TOKEN', 'token', token, project),
    registry: world.target.relay.address,
    registryUser: world.target.engine.registry.username,
  });

  /** Holds the next pulls (the relay in front of the registry stalls) until the returned function is called. */
  const holdPulls = (): (() => void) => {
    world.target.relay.stall(true);
    return () => world.target.relay.stall(false);
  };
  const pullWaiting = (): true | undefined => (world.target.relay.held > 0 ? true : undefined);

  test('env plan: names, kinds and handles; a missing variable comes with the exact command', async () => {
    const project = world.newProject('plan');
    const before = await world.daemon.cli(['env', 'plan', world.fixture, '--project', project, '--json']);
    assert.equal(before.code, 1, 'a plan with missing variables exits 1');
    const plan = JSON.parse(before.stdout) as EnvPlan;
    assert.deepEqual(
      plan.missing.map((entry) => entry.command),
      [`zavhoz secret set API_TOKEN --type token --project ${project}`, `zavhoz secret set WEBHOOK_SECRET --type token --project ${project}`],
    );
    const human = await world.daemon.cli(['env', 'plan', world.fixture, '--project', project]);
    assert.match(human.stdout, /POSTGRES_PASSWORD\s+infra\s+generate/);
    assert.match(human.stdout, /PORT\s+computed\s+computed\s+the allocated port/);
    assert.match(human.stdout, /API_TOKEN\s+user\s+missing/);

    const handle = await world.storeSecret('API_TOKEN', 'token', 'plan-only-token-value', project);
    const after = await world.daemon.cli(['env', 'plan', world.fixture, '--project', project, '--json']);
    const bound = (JSON.parse(after.stdout) as EnvPlan).variables.find((variable) => variable.name === 'API_TOKEN');
    assert.deepEqual(bound && { kind: bound.kind, status: bound.status, handle: bound.handle }, { kind: 'user', status: 'bound', handle });
    assert.ok(!after.stdout.includes('plan-only-token-value'), 'the plan carries the handle, never the value');

    const refused = await world.daemon.cli(deployArgs(project));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /WEBHOOK_SECRET: zavhoz secret set WEBHOOK_SECRET --type token --project/);
    assert.match(refused.stderr, /\[PreconditionFailed\]/);
  });

  test('a deploy writes .env (0600), starts the project\'s containers from the registry with a token, serves its page; no secret leaks', async () => {
    const project = world.newProject('shop');
    const { apiToken, webhook } = await storeUserSecrets(project);
    const gitToken = `ghp_${crypto.randomBytes(16).toString('hex')}`;
    const gitHandle = await world.storeSecret('GIT_TOKEN', 'token', gitToken);
    // The registry's only login is the engine's password: the right token. The run logs in with a docker config
    // of its own, so the target's own login (what an administrator did once) is neither used nor changed.
    const registryToken = world.target.engine.registry.password;
    const registry = await registryLogin(registryToken, project);
    const hostConfig = path.join(world.target.configDir, 'config.json');
    const hostConfigBefore = fs.readFileSync(hostConfig, 'utf8');

    const client = await world.daemon.connect('deploy-test');
    const notified: string[] = [];
    const changes: string[] = [];
    client.onNotification(RunsLogLines, (params) => notified.push(...params.lines));
    client.onNotification(RunsDidChange, (params) => changes.push(`${params.id}:${params.status}`));
    const processes = sampleProcessList();
    let run: RunDetail;
    const started = Date.now();
    try {
      run = await client.request(DeployStart, {
        folder: world.fixture,
        project,
        repository: 'Acme/Demo',
        ref: 'main',
        bindings: {},
        repoUrl: world.repository.url,
        gitToken: gitHandle,
        ...registry,
        timeoutSeconds: 600,
        wait: true,
      });
    } finally {
      client.close();
    }
    const psOutput = await processes.stop();
    console.log(`first deploy (compose v1, real engine): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(run.status, 'succeeded', `${run.error ?? ''}\n${fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8')}`);
    assert.equal(run.exitCode, 0);
    assert.deepEqual(run.steps.map((step) => `${step.name}:${step.status}`), [
      'allocate:succeeded', 'plan:succeeded', 'secrets:succeeded', 'preflight:succeeded', 'playbook:succeeded', 'health:succeeded',
    ]);
    assert.ok(changes.includes(`${run.id}:succeeded`), 'runs/didChange announced the result');
    const port = run.allocation?.port ?? 0;
    assert.ok(port >= 8000);

    // The project on the "server": cloned at the ref, .env private and complete.
    const projectFolder = path.join('/opt/services', project);
    assert.equal(fs.statSync(projectFolder).mode & 0o777, 0o755);
    assert.ok(fs.existsSync(path.join(projectFolder, 'infra/compose.prod.yml')), 'the repository was cloned');
    const envFile = path.join(projectFolder, '.env');
    assert.equal(fs.statSync(envFile).mode & 0o777, 0o600);
    // The record of the last `compose up` holds .env's sha256, which would let another user test guesses: as private.
    assert.equal(fs.statSync(path.join(projectFolder, '.zavhoz-up')).mode & 0o777, 0o600);
    const env = readDotenv(envFile);
    const planned = run.plan?.variables.filter((variable) => variable.status !== 'optional').map((variable) => variable.name) ?? [];
    assert.deepEqual([...env.keys()].sort(), [...planned].sort(), '.env holds every planned variable');
    assert.equal(env.get('API_TOKEN'), apiToken);
    assert.equal(env.get('WEBHOOK_SECRET'), webhook);
    assert.equal(env.get('PORT'), String(port));
    assert.equal(env.get('APP_NAME'), project);
    assert.equal(env.get('ENVIRONMENT'), 'production');
    const passwordHandle = run.plan?.variables.find((variable) => variable.name === 'POSTGRES_PASSWORD')?.handle ?? '';
    const revealed = await cliJson<{ value: string }>(world.daemon, ['secret', 'reveal', passwordHandle, '--yes']);
    const password = revealed.value;
    assert.equal(env.get('POSTGRES_PASSWORD'), password, 'the generated infra secret is the vault value');
    assert.equal(env.get('DATABASE_URL'), `postgresql://${project.replace(/-/g, '_')}:${encodeURIComponent(password)}@db:5432/${project.replace(/-/g, '_')}`);
    assert.equal(fs.readlinkSync(path.join(projectFolder, 'infra/.env.prod')), '../.env');

    // The project's containers run on the engine under its compose project, from the image the registry holds.
    const containers = await containersOf(project);
    assert.deepEqual(containers.map((container) => `${container.service}:${container.state}`), ['backend:running', 'db:running']);
    assert.ok(containers.every((container) => container.composeVersion.startsWith('1.')), `compose v1 made them: ${containers.map((c) => c.composeVersion).join(', ')}`);
    const backend = containers.find((container) => container.service === 'backend');
    assert.ok(backend);
    const digests = JSON.parse((await world.target.engine.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', backend.image])).stdout) as string[];
    const pushedDigest = world.target.image.digest.split('@')[1] ?? '';
    assert.ok(digests.some((digest) => digest.endsWith(`@${pushedDigest}`)), `the image pulled is the one pushed (${pushedDigest}): ${digests.join(', ')}`);
    const answer = await page(port);
    assert.equal(answer.status, 200);
    assert.match(answer.body, /^test-web 1\.0\.0$/m);
    // The values the plan gave reach the service's environment (through infra/.env.prod, the compose env_file;
    // PORT is the published port, and the fixture's compose file tells the service to listen on 8000 inside).
    for (const name of ['API_TOKEN', 'WEBHOOK_SECRET', 'APP_NAME', 'DATABASE_URL', 'POSTGRES_PASSWORD']) {
      const inside: string = (await world.target.engine.docker(['exec', backend.id, 'sh', '-c', `printf %s "$${name}"`])).stdout;
      assert.equal(inside, env.get(name), `${name} inside the container is the planned value`);
    }

    // The registry login: done, then gone from the target; the target's own docker config untouched.
    const runLog = fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8');
    assert.match(runLog, /TASK \[Registry login \(127\.0\.0\.1:\d+\)\][^\n]*\nok: \[target\]/);
    assert.equal(fs.readFileSync(hostConfig, 'utf8'), hostConfigBefore, "the target's ~/.docker/config.json is as it was");
    assert.deepEqual(registryCredentialFolders(), [], "the run's docker config folder is gone");

    // Secrets: never in run.log, the daemon log, notifications, ps or the run folder; the run folder keeps no secret file.
    assert.match(runLog, /TASK \[Health check/);
    assert.ok(notified.some((line) => line.includes('TASK [Start containers]')), 'log lines were streamed');
    const daemonLog = fs.readFileSync(dataPaths(world.daemon.home).log, 'utf8');
    const runFolderText = folderText(run.folder);
    const hostConfigText = fs.readFileSync(hostConfig, 'utf8');
    for (const [label, secret] of Object.entries({ apiToken, webhook, gitToken, registryToken, password, sshKey: world.sshd.clientKey.privateKeyPem.split('\n')[1] ?? 'x' })) {
      assert.ok(!runLog.includes(secret), `${label} is not in run.log`);
      assert.ok(!daemonLog.includes(secret), `${label} is not in the daemon log`);
      assert.ok(!notified.join('\n').includes(secret), `${label} is not in notifications`);
      assert.ok(!psOutput.includes(secret), `${label} is not in any process's arguments`);
      assert.ok(!runFolderText.includes(secret), `${label} is not in the run folder`);
      assert.ok(!hostConfigText.includes(secret), `${label} is not in the target's ~/.docker/config.json`);
    }
    assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
    assert.equal(fs.statSync(run.folder).mode & 0o777, 0o700);
    assert.ok(!fs.readFileSync(path.join(run.folder, 'inventory.yml'), 'utf8').includes('PRIVATE KEY'));
    assert.deepEqual(processesMentioning(run.folder), [], 'no ansible-playbook or ssh master outlives the run');
    const prefix = gitCredentialsPrefix(project);
    assert.deepEqual(gitCredentialFolders().filter((folder) => path.basename(folder).startsWith(prefix)), [], 'the git credentials folder is gone');

    // The CLI shows it.
    const list = await cliJson<RunSummary[]>(world.daemon, ['run', 'list', '--project', project]);
    assert.deepEqual(list.map((item) => [item.id, item.status]), [[run.id, 'succeeded']]);
    const logged = await world.daemon.cli(['run', 'log', run.id]);
    assert.match(logged.stdout, /PLAY RECAP/);
  });

  test('a second deploy of the same project is idempotent: same values, same commit, no new secrets, no container recreated, compose up skipped', async () => {
    const project = world.newProject('again');
    await storeUserSecrets(project);
    await deployAndWait(world, project);
    const envFile = path.join('/opt/services', project, '.env');
    const firstEnv = fs.readFileSync(envFile, 'utf8');
    const secretsBefore = (await cliJson<unknown[]>(world.daemon, ['secret', 'list', '--project', project])).length;
    const containersBefore = await containersOf(project);
    assert.equal(containersBefore.length, 2);
    // A record of the last `up` written 0644 by an earlier version: made private on the path that skips `up` too.
    const upRecord = path.join('/opt/services', project, '.zavhoz-up');
    fs.chmodSync(upRecord, 0o644);

    const started = Date.now();
    const { run, log: runLog } = await deployAndWait(world, project);
    assert.equal(fs.statSync(upRecord).mode & 0o777, 0o600, 'the record of the last compose up is private again');
    console.log(`redeploy of an unchanged project (compose v1, real engine): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.deepEqual(
      (await containersOf(project)).map((container) => [container.service, container.id, container.startedAt, container.state]),
      containersBefore.map((container) => [container.service, container.id, container.startedAt, container.state]),
      'the same containers, never restarted',
    );
    assert.match((await page(run.allocation?.port ?? 0)).body, /^test-web 1\.0\.0$/m);
    assert.equal(fs.readFileSync(envFile, 'utf8'), firstEnv, '.env is the same');
    assert.equal((await cliJson<unknown[]>(world.daemon, ['secret', 'list', '--project', project])).length, secretsBefore, 'no secret was generated again');
    // One task clones, links and writes .env (issue 13): `ok` is neither a new commit nor a new .env.
    assert.match(runLog, /TASK \[Compose, repository and \.env in [^\]]+\][^\n]*\nok: \[target\]/, 'the clone and the .env are unchanged');
    // Nothing `compose up` would change (issue 13): the first task found it, so the images and containers (the
    // login, `Start containers`, the credentials' removal) were skipped as one include, and the log says why; the
    // health check still ran, and every step succeeded.
    assertUpSkipped(runLog);
    assert.match(runLog, /containers unchanged: the same commit, \.env, images and running containers as the last compose up, which is skipped/);
    assert.match(runLog, /TASK \[Health check of each module\][^\n]*\n(?:[^\n]*\n)*?ok: \[target -> localhost\]/, 'the health check ran');
    assert.ok(run.steps.every((step) => step.status === 'succeeded'), run.steps.map((step) => `${step.name}:${step.status}`).join(', '));
    assert.match(runLog, /failed=0/);
  });

  test('compose up runs again after a container was stopped or removed, or a .env value changed; the service answers', async () => {
    const project = world.newProject('drift');
    await storeUserSecrets(project);
    const { run: first } = await deployAndWait(world, project);
    const port = first.allocation?.port ?? 0;
    const backendOf = async (): Promise<Container> => {
      const backend = (await containersOf(project)).find((container) => container.service === 'backend');
      assert.ok(backend, 'the backend container exists');
      return backend;
    };
    const upRan = (log: string, why: RegExp): void => {
      assert.match(log, why);
      assert.match(log, /TASK \[Start containers\][^\n]*\nchanged: \[target\]/, 'compose up ran');
    };

    // A stopped container (`unless-stopped` leaves it stopped): the next deploy starts the same one again.
    const stopped = await backendOf();
    await world.target.engine.docker(['stop', stopped.id]);
    upRan((await deployAndWait(world, project)).log, /containers to start: the service backend is not running, or restarted, or not healthy/);
    assert.deepEqual([(await backendOf()).id, (await backendOf()).state], [stopped.id, 'running']);
    assert.match((await page(port)).body, /^test-web 1\.0\.0$/m);

    // A removed container: the next deploy creates it again.
    await world.target.engine.docker(['rm', '--force', stopped.id]);
    upRan((await deployAndWait(world, project)).log, /containers to start: the containers, \.env or the compose command are not those of the last compose up/);
    const created = await backendOf();
    assert.notEqual(created.id, stopped.id);
    assert.equal(created.state, 'running');
    assert.match((await page(port)).body, /^test-web 1\.0\.0$/m);

    // A new .env value (a rotated secret): the container is created again with it.
    const tokenHandle = first.plan?.variables.find((variable) => variable.name === 'API_TOKEN')?.handle ?? '';
    const rotated = `api-drift-${crypto.randomBytes(12).toString('hex')}`;
    await cliJson(world.daemon, ['secret', 'rotate', tokenHandle], rotated);
    world.values.set(`${tokenHandle}-drift`, rotated);
    upRan((await deployAndWait(world, project)).log, /containers to start: the repository's files, \.env or the firewall changed/);
    const renewed = await backendOf();
    assert.notEqual(renewed.id, created.id);
    assert.equal((await world.target.engine.docker(['exec', renewed.id, 'sh', '-c', 'printf %s "$API_TOKEN"'])).stdout, rotated);
    assert.match((await page(port)).body, /^test-web 1\.0\.0$/m);

    // Then, with nothing changed, compose up is skipped again.
    assertUpSkipped((await deployAndWait(world, project)).log);
    assert.equal((await backendOf()).id, renewed.id);
  });

  test('STAND-IN (an `mv` that fails): a new .env that cannot replace the old one fails the run and leaves no copy of its values', async () => {
    const project = world.newProject('envmv');
    await storeUserSecrets(project);
    await deployAndWait(world, project);
    const folder = path.join('/opt/services', project);
    const oldEnv = fs.readFileSync(path.join(folder, '.env'), 'utf8');
    // A new value, so the next .env differs and must replace the old one.
    const apiToken = `api-${crypto.randomBytes(12).toString('hex')}`;
    const listed = await cliJson<{ handle: string; name: string }[]>(world.daemon, ['secret', 'list', '--project', project]);
    const handle = listed.find((secret) => secret.name === 'API_TOKEN')?.handle ?? assert.fail('API_TOKEN is stored');
    const rotated = await world.daemon.cli(['secret', 'rotate', handle], { input: apiToken });
    assert.equal(rotated.code, 0, rotated.stderr);
    // A real server's `mv` fails here only for reasons a test cannot make on a shared machine (a full disk, an
    // immutable file): this `mv` refuses to replace .env and does everything else as the real one.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-failing-mv-'));
    fs.writeFileSync(path.join(bin, 'mv'), '#!/bin/sh\nfor last; do :; done\ncase "$last" in .env) echo "mv: cannot replace .env (test double)" >&2; exit 1;; esac\nexec /usr/bin/mv "$@"\n', { mode: 0o755 });
    await world.setRemoteSystemPath(`${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
    try {
      const result = await world.daemon.cli([...deployArgs(project), '--wait', '--json']);
      assert.equal(result.code, 1, result.stderr);
      const run = JSON.parse(result.stdout) as RunDetail;
      assert.equal(run.status, 'failed');
      assert.match(run.error ?? '', /\.env could not be written/);
      assert.deepEqual(fs.readdirSync(folder).filter((name) => /^\.env\.[A-Za-z0-9]{8}$/.test(name)), [], 'no temporary .env is left with the new values');
      assert.equal(fs.readFileSync(path.join(folder, '.env'), 'utf8'), oldEnv, 'the old .env stays as it was');
      assert.deepEqual(filesHolding(folder, apiToken), [], 'the new value is in no file of the project folder');
    } finally {
      await world.setRemoteSystemPath(undefined);
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  test('a server with the compose v2 plugin deploys with `docker compose`, the same arguments', async (t) => {
    if (composeV2Plugin() === undefined) {
      // CI installs the plugin (.ci/run): there a missing plugin is a broken set-up, never a quiet skip.
      if (process.env.CI === 'true') assert.fail('compose v2 is not installed: .ci/run must run test/harness/install-compose-v2.sh');
      t.skip('compose v2 is not installed here (test/harness/install-compose-v2.sh installs it; CI runs it)');
      return;
    }
    const project = world.newProject('vtwo');
    await storeUserSecrets(project);
    world.target.setComposeV2(true);
    try {
      const started = Date.now();
      const { run } = await deployAndWait(world, project);
      console.log(`first deploy (compose v2, real engine): ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const containers = await containersOf(project);
      assert.deepEqual(containers.map((container) => `${container.service}:${container.state}`), ['backend:running', 'db:running']);
      assert.ok(containers.every((container) => container.composeVersion.startsWith('2.')), `compose v2 made them: ${containers.map((c) => c.composeVersion).join(', ')}`);
      assert.match((await page(run.allocation?.port ?? 0)).body, /^test-web 1\.0\.0$/m);
    } finally {
      world.target.setComposeV2(false);
    }
  });

  test('a server with neither compose v2 nor docker-compose fails the run at pre-flight, saying what to install; nothing changes there', async () => {
    const project = world.newProject('nocompose');
    await storeUserSecrets(project);
    // This server's PATH has every program of /usr/bin but docker-compose (and no compose plugin): a server with
    // docker alone. /bin is /usr/bin here, so it is left out.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-no-compose-'));
    for (const name of fs.readdirSync('/usr/bin')) if (name !== 'docker-compose') fs.symlinkSync(path.join('/usr/bin', name), path.join(bin, name));
    await world.setRemoteSystemPath(`${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin`);
    try {
      const result = await world.daemon.cli([...deployArgs(project), '--wait', '--json']);
      assert.equal(result.code, 1, result.stderr);
      const run = JSON.parse(result.stdout) as RunDetail;
      assert.equal(run.status, 'failed');
      assert.deepEqual(run.steps.map((step) => `${step.name}:${step.status}`).slice(-3), ['preflight:failed', 'playbook:skipped', 'health:skipped']);
      assert.match(run.error ?? '', /The task "Compose is installed" failed .*: neither the compose v2 plugin \(docker compose\) nor docker-compose v1 is installed .*apt-get install docker-compose-plugin, or docker-compose\), then deploy again\./);
      assert.equal(fs.existsSync(path.join('/opt/services', project)), false, 'nothing was written on the server');
    } finally {
      await world.setRemoteSystemPath(undefined);
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  /** Deploys a branch of the fixture that fails for real; returns the failed run. */
  const failingDeploy = async (project: string, ref: string): Promise<RunDetail> => {
    await storeUserSecrets(project);
    const result = await world.daemon.cli([...deployArgs(project, ['--ref', ref]), '--wait', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const run = JSON.parse(result.stdout) as RunDetail;
    assert.equal(run.status, 'failed');
    assert.equal(run.attempts, 1, 'a failed task is not retried');
    assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
    return run;
  };
  const stepStatuses = (run: RunDetail): string[] => run.steps.map((step) => `${step.name}:${step.status}`);

  test('a service that exits at start fails the run at the health step, naming the service, its exit code and its log', async () => {
    const project = world.newProject('exits');
    const run = await failingDeploy(project, 'exits');
    assert.deepEqual(stepStatuses(run).slice(-2), ['playbook:succeeded', 'health:failed']);
    assert.match(run.error ?? '', /The task "Start containers" failed .*: the service backend \(exit code 3\) of \S+ exited at start\. Its log tells why \(in \/opt\/services\/\S+\): docker-compose -p \S+ .* logs; fix the service/);
  });

  test('a service whose health check never passes fails the run at the health step, saying where to look', async () => {
    const project = world.newProject('sick');
    const run = await failingDeploy(project, 'unhealthy');
    assert.deepEqual(stepStatuses(run).slice(-2), ['playbook:succeeded', 'health:failed']);
    assert.match(run.error ?? '', /the service backend of \S+ runs but its health check fails\. Its log and docker inspect \(State\.Health\) tell why/);
  });

  test('an image the registry does not have fails the run at the pull, naming the image and what to check', async () => {
    const project = world.newProject('noimage');
    const run = await failingDeploy(project, 'missing-image');
    assert.deepEqual(stepStatuses(run).slice(-2), ['playbook:failed', 'health:skipped']);
    assert.match(run.error ?? '', /The task "Pull images" failed .*: an image of the project could not be pulled \(\S+:no-such-release\)[^]*push the image, or deploy with --registry-token/);
    assert.deepEqual(await containersOf(project), [], 'nothing was started');
  });

  test('a wrong registry token fails the login with a clear message; the token is nowhere after the run', async () => {
    const project = world.newProject('badtoken');
    await storeUserSecrets(project);
    const wrongToken = `wrong-${crypto.randomBytes(12).toString('hex')}`;
    const registry = await registryLogin(wrongToken, project);
    const hostConfig = path.join(world.target.configDir, 'config.json');
    const hostConfigBefore = fs.readFileSync(hostConfig, 'utf8');
    const processes = sampleProcessList();
    const client = await world.daemon.connect('deploy-test');
    let run: RunDetail;
    try {
      run = await client.request(DeployStart, {
        folder: world.fixture, project, repository: 'Acme/Demo', ref: 'main', bindings: {}, repoUrl: world.repository.url, ...registry, timeoutSeconds: 600, wait: true,
      });
    } finally {
      client.close();
    }
    const psOutput = await processes.stop();
    assert.equal(run.status, 'failed');
    assert.deepEqual(stepStatuses(run).slice(-2), ['playbook:failed', 'health:skipped']);
    assert.match(run.error ?? '', /The task "Registry login refused" failed .*: 127\.0\.0\.1:\d+ refused the login of zavhoz-test with the registry token \([^)]*\)\. Check that the token is valid/);
    const runLog = fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8');
    const daemonLog = fs.readFileSync(dataPaths(world.daemon.home).log, 'utf8');
    for (const [where, text] of Object.entries({ runLog, daemonLog, psOutput, runFolder: folderText(run.folder), hostConfig: fs.readFileSync(hostConfig, 'utf8') })) {
      assert.ok(!text.includes(wrongToken), `the token is not in ${where}`);
    }
    assert.equal(fs.readFileSync(hostConfig, 'utf8'), hostConfigBefore);
    assert.deepEqual(registryCredentialFolders(), [], "the run's docker config folder is gone");
    assert.deepEqual(await containersOf(project), [], 'nothing was pulled or started');
  });

  test('after a successful deploy the repository gets its CI secrets, sealed; without GitHub credentials the log says how', async () => {
    const project = world.newProject('ci');
    await storeUserSecrets(project);
    const unconfigured = await deployAndWait(world, project);
    assert.match(unconfigured.log, /CI secrets were not pushed: no GitHub credentials.*github push-secrets --repo Acme\/Demo/);

    const github = await FakeGithub.start();
    try {
      github.createRepository('Acme/Demo');
      const token = `ghp_${crypto.randomBytes(18).toString('hex')}`;
      github.addToken(token, ['Acme/Demo']);
      const tokenHandle = await world.storeSecret('GITHUB_TOKEN', 'token', token);
      await cliJson(world.daemon, ['config', 'set', 'githubApiBase', github.url]);
      await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', tokenHandle]);
      const configured = await deployAndWait(world, project);
      assert.match(configured.log, /Pushed 7 CI secrets to Acme\/Demo: .*DEPLOY_SSH_KEY/);
      // The project's scoped CI key and user (test/integration/ci-key.test.ts shows what it can do), not the server's.
      assert.match(github.plaintext('Acme/Demo', 'DEPLOY_SSH_KEY') ?? '', /^-----BEGIN OPENSSH PRIVATE KEY-----/);
      assert.notEqual(github.plaintext('Acme/Demo', 'DEPLOY_SSH_KEY'), world.sshd.clientKey.privateKeyPem);
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_USER'), deployUserOf(project));
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_HOST'), world.sshd.host);
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_PROJECT_PATH'), `/opt/services/${project}`);
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_COMPOSE_FILES'), 'infra/compose.base.yml infra/compose.prod.yml');
    } finally {
      await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', '""']);
      await github.stop();
      removeCiDeployUser(project);
    }
  });

  test('a secret value that shows up in Ansible output is masked in run.log, notifications and the daemon log', async () => {
    const project = world.newProject('leak');
    // The project name is printed by Ansible (PLAY and TASK lines); make it a secret value too.
    await world.storeSecret('API_TOKEN', 'token', project, project);
    await world.storeSecret('WEBHOOK_SECRET', 'text', `hook-${crypto.randomBytes(8).toString('hex')}`, project);
    const result = await world.daemon.cli([...deployArgs(project), '--wait']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /PLAY \[Deploy \[REDACTED\]\]/, 'streamed lines are redacted');
    assert.ok(!result.stdout.includes(project), 'the value never reaches the client');
    const [run] = await cliJson<RunSummary[]>(world.daemon, ['run', 'list', '--project', project]);
    const runLog = fs.readFileSync(path.join(world.daemon.home, 'runs', run?.id ?? '', 'run.log'), 'utf8');
    assert.match(runLog, /TASK \[Compose, repository and \.env in \/opt\/services\/\[REDACTED\]\]/);
    assert.ok(!runLog.includes(project));
    assert.ok(!fs.readFileSync(dataPaths(world.daemon.home).log, 'utf8').includes(project));
  });

  test('a failing task fails the run at once, without retries, naming the task', async () => {
    const project = world.newProject('badref');
    await storeUserSecrets(project);
    const result = await world.daemon.cli([...deployArgs(project, ['--ref', 'no-such-branch']), '--wait', '--json']);
    assert.equal(result.code, 1);
    const run = JSON.parse(result.stdout) as RunDetail;
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 2);
    assert.equal(run.attempts, 1, 'a failed task is not retried');
    assert.match(run.error ?? '', /The task "Clone or update the repository" failed/);
    assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
  });

  test('an unreachable host is retried 3 times with backoff, then the run fails clearly', async () => {
    const project = world.newProject('down');
    await storeUserSecrets(project);
    await cliJson(world.daemon, ['allocate', '--project', project]);
    // The server's sshd "goes away": point the inventory at a port nothing listens on.
    await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', '1']);
    try {
      const result = await world.daemon.cli([...deployArgs(project), '--wait', '--json']);
      assert.equal(result.code, 1);
      const run = JSON.parse(result.stdout) as RunDetail;
      assert.equal(run.status, 'failed');
      assert.match(run.error ?? '', /Could not reach deploy_target .*port 1/);
      const log = fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8');
      assert.deepEqual(log.match(/attempt \d of 4/g), ['attempt 2 of 4', 'attempt 3 of 4', 'attempt 4 of 4']);
      assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
    } finally {
      await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', String(world.sshd.port)]);
    }
  });

  test('a connection lost mid-playbook (ansible-playbook exit 4) is retried; the next attempt succeeds', async () => {
    const project = world.newProject('drop');
    await storeUserSecrets(project);
    // The playbook waits in `compose pull` (the registry relay holds it) while the test cuts every SSH connection
    // (sshd keeps listening), so the task's connection dies under it, as in a network failure, and Ansible reports
    // the host UNREACHABLE.
    const release = holdPulls();
    let run: RunDetail;
    try {
      run = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      await waitUntil('the playbook to be in the pull', pullWaiting, 300_000);
      dropSshConnections(world.sshd);
    } finally {
      // The retry's pull goes through.
      release();
    }
    const finished = await waitUntil(
      'the run to end',
      async () => {
        const detail = await runDetail(run.id);
        return detail.status === 'running' ? undefined : detail;
      },
      300_000,
    );
    const log = fs.readFileSync(path.join(finished.folder, 'run.log'), 'utf8');
    assert.equal(finished.status, 'succeeded', `${finished.error ?? ''}\n${log}`);
    assert.equal(finished.attempts, 2, 'one retry');
    // The first task pulls too (issue 13: one round trip for compose, repository, .env and the pull).
    assert.match(log, /TASK \[Compose, repository and \.env in [^\]]+\][^\n]*\nfatal: \[target\]: UNREACHABLE!/, 'the first attempt lost the host in the pull');
    assert.match(log, /playbook: Ansible could not reach deploy_target .*Retrying in 1 s \(attempt 2 of 4\)/);
    assert.deepEqual(log.match(/attempt \d of 4/g), ['attempt 2 of 4']);
    assert.match(log, /PLAY RECAP[^\n]*\n[^\n]*unreachable=0 +failed=0/, 'the second attempt ran to its end');
    assert.equal(fs.statSync(path.join('/opt/services', project, '.env')).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(finished.folder).sort(), KEPT_FILES);
    assert.deepEqual(processesMentioning(finished.folder), [], 'no ansible-playbook or ssh master of either attempt outlives the run');
  });

  test('a timeout fails the run and kills the playbook', async () => {
    const project = world.newProject('slow');
    await storeUserSecrets(project);
    const release = holdPulls();
    try {
      const result = await world.daemon.cli([...deployArgs(project, ['--timeout', '8']), '--wait', '--json']);
      assert.equal(result.code, 1);
      const run = JSON.parse(result.stdout) as RunDetail;
      assert.equal(run.status, 'failed');
      assert.match(run.error ?? '', /Timed out after 8 s/);
      assert.deepEqual(processesMentioning(run.folder), [], 'the playbook and its ssh processes are gone');
      assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
    } finally {
      release();
    }
  });

  test('cancel kills the process group; a second deploy of the project queues behind the first and runs after it', async () => {
    const project = world.newProject('cancel');
    await storeUserSecrets(project);
    const release = holdPulls();
    let first: RunDetail;
    let second: RunDetail;
    let following: ReturnType<typeof world.daemon.cli>;
    try {
      first = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      assert.equal(first.status, 'running');
      // The pull itself, not its TASK line: Ansible prints that before the slow pull has read its delay.
      await waitUntil('the playbook to be in the pull', pullWaiting, 300_000);
      second = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      assert.equal(second.status, 'queued', 'one run per project at a time');
      // Follows the queued run's log from before it starts to its end.
      following = world.daemon.cli(['run', 'log', second.id, '--follow']);
      assert.ok(processesMentioning(first.folder).length > 0, 'the playbook runs');
    } finally {
      release();
    }
    const cancelled = await cliJson<RunSummary>(world.daemon, ['run', 'cancel', first.id]);
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(processesMentioning(first.folder), [], 'the whole process group is gone');
    assert.deepEqual(fs.readdirSync(first.folder).sort(), KEPT_FILES);
    const followed = await following;
    assert.equal(followed.code, 0, `run log --follow exits 0 for a run that succeeded: ${followed.stderr}`);
    const finished = await runDetail(second.id);
    assert.equal(finished.status, 'succeeded', finished.error ?? '');
    assert.equal(followed.stdout, fs.readFileSync(path.join(finished.folder, 'run.log'), 'utf8'), 'every line once, in order');
    assert.match(followed.stdout, /PLAY RECAP[\s\S]*\[zavhoz\] run succeeded/);
    const again = await world.daemon.cli(['run', 'cancel', first.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already ended \(cancelled\).*\[Conflict\]/);
  });

  test('cancelling a waiting deploy/start request answers -32800 and cancels the run', async () => {
    const project = world.newProject('abort');
    await storeUserSecrets(project);
    const release = holdPulls();
    const client = await world.daemon.connect('deploy-test');
    try {
      const source = new CancellationTokenSource();
      const lines: string[] = [];
      client.onNotification(RunsLogLines, (params) => {
        lines.push(...params.lines);
        // The first task, which pulls (held): the run is cancelled mid-playbook.
        if (params.lines.some((line) => line.includes('TASK [Compose, repository and .env in'))) source.cancel();
      });
      const request = client.request(
        DeployStart,
        { folder: world.fixture, project, repository: 'Acme/Demo', ref: 'main', bindings: {}, repoUrl: world.repository.url, registry: 'ghcr.io', timeoutSeconds: 600, wait: true },
        { token: source.token },
      );
      await assert.rejects(request, (error: unknown) => isCancelled(error));
      const runs = await cliJson<RunSummary[]>(world.daemon, ['run', 'list', '--project', project]);
      const run = await waitUntil('the run to settle', async () => {
        const detail = await runDetail(runs[0]?.id ?? '');
        return detail.status === 'running' ? undefined : detail;
      });
      assert.equal(run.status, 'cancelled');
      assert.deepEqual(processesMentioning(run.folder), []);
    } finally {
      release();
      client.close();
    }
  });

  test('kill -9 of the daemon mid-run: after a restart the run is interrupted, its playbook gone, its secret files removed', async () => {
    const project = world.newProject('crash');
    await storeUserSecrets(project);
    const release = holdPulls();
    try {
      const run = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      await waitUntil('the playbook to be in the pull', pullWaiting, 300_000);
      assert.ok(fs.existsSync(path.join(run.folder, 'extra-vars.json')), 'the secret files exist while the run runs');
      assert.equal(fs.statSync(path.join(run.folder, 'extra-vars.json')).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.join(run.folder, 'id_key')).mode & 0o777, 0o600);
      await world.daemon.kill9();
      await world.daemon.start();
      await assertInterruptedByCrash(run);
    } finally {
      release();
    }
    // The next deploy recovers: the project runs and serves.
    await assertNextDeployServes(project);
  });

  test('kill -9 of the daemon during `compose up`: the run is interrupted, and the next deploy recovers the project', async () => {
    const project = world.newProject('upcrash');
    await storeUserSecrets(project);
    const run = await cliJson<RunDetail>(world.daemon, deployArgs(project, ['--ref', 'slow-up']));
    // In `up`: its task started and compose created the database's container, which it now waits on.
    await waitUntil('the playbook to be in compose up', async () => {
      const log = fs.existsSync(path.join(run.folder, 'run.log')) ? fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8') : '';
      if (!log.includes('TASK [Start containers]')) return undefined;
      return (await containersOf(project)).some((container) => container.service === 'db' && container.state === 'running') ? true : undefined;
    }, 300_000);
    await world.daemon.kill9();
    await world.daemon.start();
    await assertInterruptedByCrash(run);
    // The next deploy (main) replaces the half-started project with a working one, and stops the interrupted run's
    // compose, which outlived its SSH session and would otherwise race this deploy for the project's port.
    await assertNextDeployServes(project);
    assert.deepEqual(processesMentioning(`-p\0${project}\0`), [], 'no compose process of the interrupted run is left');
  });

  test('a daemon shutdown mid-run kills the playbook; the run ends interrupted', async () => {
    const project = world.newProject('stop');
    await storeUserSecrets(project);
    const release = holdPulls();
    try {
      const run = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      await waitUntil('the playbook to be in the pull', pullWaiting, 300_000);
      await world.daemon.stop();
      assert.deepEqual(processesMentioning(run.folder), [], 'shutdown killed the playbook and closed its SSH master');
      assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
      await world.daemon.start();
      const after = await runDetail(run.id);
      assert.equal(after.status, 'interrupted');
      assert.match(after.error ?? '', /daemon shut down during the run/);
    } finally {
      release();
    }
  });
});
