/**
 * The deploy pipeline end to end: a real daemon, the real vault on a private keychain, a real sshd on loopback as
 * the target, real ansible-playbook and a real git clone from a local bare repository. Only the container engine
 * is a test double (test/fakes/docker), which serves HTTP on the allocated port once `compose up` ran.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { isCancelled } from '../../daemon/client/client.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { FakeGithub } from '../fakes/github.js';
import type { EnvPlan } from '../../daemon/protocol/env.js';
import { DeployStart, type RunDetail, RunsDidChange, RunsLogLines, type RunSummary } from '../../daemon/protocol/runs.js';
import {
  cliJson,
  deployAndWait,
  deployArguments,
  type DeployWorld,
  dropSshConnections,
  FIXTURE,
  gitCredentialFolders,
  gitCredentialsPrefix,
  processesMentioning,
  readDotenv,
  sampleProcessList,
  setUpDeployWorld,
  storeUserSecrets as storeSecretsOfFixture,
} from './deploy-support.js';
import { waitUntil } from '../harness/processes.js';

/** Files a finished run folder may hold: the log, the playbook, config and step plugin used, and the inventory. */
const KEPT_FILES = ['ansible.cfg', 'callback_plugins', 'deploy_project.yml', 'inventory.yml', 'run.log'];

describe('deploy: env plan, Ansible runs over SSH, run lifecycle', () => {
  let world: DeployWorld;

  before(async () => {
    world = await setUpDeployWorld();
  });
  after(async () => {
    await world?.dispose();
  });

  const deployArgs = (project: string, extra: readonly string[] = []): string[] => deployArguments(world, project, extra);
  const storeUserSecrets = (project: string): Promise<{ apiToken: string; webhook: string }> => storeSecretsOfFixture(world, project);

  const runDetail = (id: string): Promise<RunDetail> => cliJson<RunDetail>(world.daemon, ['run', 'show', id]);

  test('env plan: names, kinds and handles; a missing variable comes with the exact command', async () => {
    const project = world.newProject('plan');
    const before = await world.daemon.cli(['env', 'plan', FIXTURE, '--project', project, '--json']);
    assert.equal(before.code, 1, 'a plan with missing variables exits 1');
    const plan = JSON.parse(before.stdout) as EnvPlan;
    assert.deepEqual(
      plan.missing.map((entry) => entry.command),
      [`zavhoz secret set API_TOKEN --type token --project ${project}`, `zavhoz secret set WEBHOOK_SECRET --type token --project ${project}`],
    );
    const human = await world.daemon.cli(['env', 'plan', FIXTURE, '--project', project]);
    assert.match(human.stdout, /POSTGRES_PASSWORD\s+infra\s+generate/);
    assert.match(human.stdout, /PORT\s+computed\s+computed\s+the allocated port/);
    assert.match(human.stdout, /API_TOKEN\s+user\s+missing/);

    const handle = await world.storeSecret('API_TOKEN', 'token', 'plan-only-token-value', project);
    const after = await world.daemon.cli(['env', 'plan', FIXTURE, '--project', project, '--json']);
    const bound = (JSON.parse(after.stdout) as EnvPlan).variables.find((variable) => variable.name === 'API_TOKEN');
    assert.deepEqual(bound && { kind: bound.kind, status: bound.status, handle: bound.handle }, { kind: 'user', status: 'bound', handle });
    assert.ok(!after.stdout.includes('plan-only-token-value'), 'the plan carries the handle, never the value');

    const refused = await world.daemon.cli(deployArgs(project));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /WEBHOOK_SECRET: zavhoz secret set WEBHOOK_SECRET --type token --project/);
    assert.match(refused.stderr, /\[PreconditionFailed\]/);
  });

  test('a deploy writes .env (0600) with every planned variable, starts the project and answers on its port; no secret leaks', async () => {
    const project = world.newProject('shop');
    const { apiToken, webhook } = await storeUserSecrets(project);
    const gitToken = `ghp_${crypto.randomBytes(16).toString('hex')}`;
    const registryToken = `ghcr_${crypto.randomBytes(16).toString('hex')}`;
    const gitHandle = await world.storeSecret('GIT_TOKEN', 'token', gitToken);
    const registryHandle = await world.storeSecret('REGISTRY_TOKEN', 'token', registryToken);

    const client = await world.daemon.connect('deploy-test');
    const notified: string[] = [];
    const changes: string[] = [];
    client.onNotification(RunsLogLines, (params) => notified.push(...params.lines));
    client.onNotification(RunsDidChange, (params) => changes.push(`${params.id}:${params.status}`));
    const processes = sampleProcessList();
    let run: RunDetail;
    try {
      run = await client.request(DeployStart, {
        folder: FIXTURE,
        project,
        repository: 'Acme/Demo',
        ref: 'main',
        bindings: {},
        repoUrl: world.repository.url,
        gitToken: gitHandle,
        registryToken: registryHandle,
        registry: 'ghcr.io',
        timeoutSeconds: 600,
        wait: true,
      });
    } finally {
      client.close();
    }
    const psOutput = await processes.stop();
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
    const env = readDotenv(envFile);
    const planned = run.plan?.variables.filter((variable) => variable.status !== 'optional').map((variable) => variable.name) ?? [];
    assert.deepEqual([...env.keys()].sort(), [...planned].sort(), '.env holds every planned variable');
    assert.equal(env.get('API_TOKEN'), apiToken);
    assert.equal(env.get('WEBHOOK_SECRET'), webhook);
    assert.equal(env.get('PORT'), String(port));
    assert.equal(env.get('APP_NAME'), project);
    assert.equal(env.get('ENVIRONMENT'), 'production');
    assert.equal(env.get('BACKEND_IMAGE'), 'ghcr.io/acme/demo-backend:latest');
    const passwordHandle = run.plan?.variables.find((variable) => variable.name === 'POSTGRES_PASSWORD')?.handle ?? '';
    const revealed = await cliJson<{ value: string }>(world.daemon, ['secret', 'reveal', passwordHandle, '--yes']);
    const password = revealed.value;
    assert.equal(env.get('POSTGRES_PASSWORD'), password, 'the generated infra secret is the vault value');
    assert.equal(env.get('DATABASE_URL'), `postgresql://${project.replace(/-/g, '_')}:${encodeURIComponent(password)}@db:5432/${project.replace(/-/g, '_')}`);
    assert.equal(fs.readlinkSync(path.join(projectFolder, 'infra/.env.prod')), '../.env');

    // The container engine was driven as the playbook says, and the project answers on the allocated port.
    const calls = world.docker.calls().filter((call) => call.cwd === projectFolder || call.args.includes(project));
    const compose = ['compose', '-p', project, '--env-file', '.env', '-f', 'infra/compose.base.yml', '-f', 'infra/compose.prod.yml'];
    assert.deepEqual(calls.map((call) => call.args.join(' ')), [`${compose.join(' ')} pull`, `${compose.join(' ')} up -d --remove-orphans`]);
    const login = world.docker.calls().find((call) => call.args[0] === 'login');
    assert.deepEqual(login?.args, ['login', 'ghcr.io', '--username', 'Acme', '--password-stdin']);
    assert.equal(login?.stdinSha256, crypto.createHash('sha256').update(registryToken).digest('hex'), 'the registry token arrived on stdin');
    assert.ok(world.docker.calls().some((call) => call.args.join(' ') === 'image prune --force'));
    const answer = await fetch(`http://${world.sshd.host}:${port}/`);
    assert.equal(answer.status, 200);

    // Secrets: never in run.log, the daemon log, notifications or ps; the run folder keeps no secret file.
    const runLog = fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8');
    assert.match(runLog, /TASK \[Health check/);
    assert.ok(notified.some((line) => line.includes('TASK [Start containers]')), 'log lines were streamed');
    const daemonLog = fs.readFileSync(dataPaths(world.daemon.home).log, 'utf8');
    for (const [label, secret] of Object.entries({ apiToken, webhook, gitToken, registryToken, password, sshKey: world.sshd.clientKey.privateKeyPem.split('\n')[1] ?? 'x' })) {
      assert.ok(!runLog.includes(secret), `${label} is not in run.log`);
      assert.ok(!daemonLog.includes(secret), `${label} is not in the daemon log`);
      assert.ok(!notified.join('\n').includes(secret), `${label} is not in notifications`);
      assert.ok(!psOutput.includes(secret), `${label} is not in any process's arguments`);
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

  test('a second deploy of the same project is idempotent: same values, same commit, no new secrets', async () => {
    const project = world.newProject('again');
    await storeUserSecrets(project);
    await deployAndWait(world, project);
    const envFile = path.join('/opt/services', project, '.env');
    const firstEnv = fs.readFileSync(envFile, 'utf8');
    const secretsBefore = (await cliJson<unknown[]>(world.daemon, ['secret', 'list', '--project', project])).length;

    const { log: runLog } = await deployAndWait(world, project);
    assert.equal(fs.readFileSync(envFile, 'utf8'), firstEnv, '.env is the same');
    assert.equal((await cliJson<unknown[]>(world.daemon, ['secret', 'list', '--project', project])).length, secretsBefore, 'no secret was generated again');
    assert.match(runLog, /TASK \[Clone or update the repository\][^\n]*\nok: \[target\]/, 'the clone is unchanged');
    assert.match(runLog, /TASK \[Environment file \.env\][^\n]*\nok: \[target\]/, 'the .env is unchanged');
    assert.match(runLog, /failed=0/);
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
      assert.match(configured.log, /Pushed 6 CI secrets to Acme\/Demo: .*DEPLOY_SSH_KEY/);
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_SSH_KEY'), world.sshd.clientKey.privateKeyPem);
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_HOST'), world.sshd.host);
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_PROJECT_PATH'), `/opt/services/${project}`);
      assert.equal(github.plaintext('Acme/Demo', 'DEPLOY_COMPOSE_FILES'), 'infra/compose.base.yml infra/compose.prod.yml');
    } finally {
      await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', '""']);
      await github.stop();
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
    assert.match(runLog, /TASK \[Project folder \/opt\/services\/\[REDACTED\]\]/);
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
    // The playbook waits in `compose pull` while the test cuts every SSH connection (sshd keeps listening), so the
    // task's connection dies under it, as in a network failure, and Ansible reports the host UNREACHABLE.
    world.docker.setPullDelay(60);
    let run: RunDetail;
    try {
      run = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      await waitUntil(
        'the playbook to be in the pull',
        () => (world.docker.calls().some((call) => call.args.includes('pull') && call.args.includes(project)) ? true : undefined),
        300_000,
      );
    } finally {
      // Read when a pull starts: the retry's pull is instant.
      world.docker.setPullDelay(0);
    }
    dropSshConnections(world.sshd);
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
    assert.match(log, /TASK \[Pull images\][^\n]*\nfatal: \[target\]: UNREACHABLE!/, 'the first attempt lost the host in the pull');
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
    world.docker.setPullDelay(60);
    try {
      const result = await world.daemon.cli([...deployArgs(project, ['--timeout', '8']), '--wait', '--json']);
      assert.equal(result.code, 1);
      const run = JSON.parse(result.stdout) as RunDetail;
      assert.equal(run.status, 'failed');
      assert.match(run.error ?? '', /Timed out after 8 s/);
      assert.deepEqual(processesMentioning(run.folder), [], 'the playbook and its ssh processes are gone');
      assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
    } finally {
      world.docker.setPullDelay(0);
    }
  });

  test('cancel kills the process group; a second deploy of the project queues behind the first and runs after it', async () => {
    const project = world.newProject('cancel');
    await storeUserSecrets(project);
    world.docker.setPullDelay(60);
    let first: RunDetail;
    let second: RunDetail;
    let following: ReturnType<typeof world.daemon.cli>;
    try {
      first = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      assert.equal(first.status, 'running');
      // The pull itself, not its TASK line: Ansible prints that before the slow pull has read its delay.
      await waitUntil(
        'the playbook to be in the pull',
        () => (world.docker.calls().some((call) => call.args.includes('pull') && call.args.includes(project)) ? true : undefined),
        300_000,
      );
      second = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      assert.equal(second.status, 'queued', 'one run per project at a time');
      // Follows the queued run's log from before it starts to its end.
      following = world.daemon.cli(['run', 'log', second.id, '--follow']);
      assert.ok(processesMentioning(first.folder).length > 0, 'the playbook runs');
    } finally {
      world.docker.setPullDelay(0);
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
    world.docker.setPullDelay(60);
    const client = await world.daemon.connect('deploy-test');
    try {
      const source = new CancellationTokenSource();
      const lines: string[] = [];
      client.onNotification(RunsLogLines, (params) => {
        lines.push(...params.lines);
        if (params.lines.some((line) => line.includes('TASK [Pull images]'))) source.cancel();
      });
      const request = client.request(
        DeployStart,
        { folder: FIXTURE, project, repository: 'Acme/Demo', ref: 'main', bindings: {}, repoUrl: world.repository.url, registry: 'ghcr.io', timeoutSeconds: 600, wait: true },
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
      world.docker.setPullDelay(0);
      client.close();
    }
  });

  test('kill -9 of the daemon mid-run: after a restart the run is interrupted, its playbook gone, its secret files removed', async () => {
    const project = world.newProject('crash');
    await storeUserSecrets(project);
    world.docker.setPullDelay(60);
    try {
      const run = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      await waitUntil('the playbook to reach the pull', () =>
        fs.existsSync(path.join(run.folder, 'run.log')) && fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8').includes('TASK [Pull images]') ? true : undefined,
      );
      assert.ok(fs.existsSync(path.join(run.folder, 'extra-vars.json')), 'the secret files exist while the run runs');
      assert.equal(fs.statSync(path.join(run.folder, 'extra-vars.json')).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.join(run.folder, 'id_key')).mode & 0o777, 0o600);
      await world.daemon.kill9();
      await world.daemon.start();
      const after = await runDetail(run.id);
      assert.equal(after.status, 'interrupted');
      assert.match(after.error ?? '', /daemon stopped while this run was running/);
      assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
      await waitUntil('the orphaned playbook to be gone', () => (processesMentioning(run.folder).length === 0 ? true : undefined), 10_000);
    } finally {
      world.docker.setPullDelay(0);
    }
  });

  test('a daemon shutdown mid-run kills the playbook; the run ends interrupted', async () => {
    const project = world.newProject('stop');
    await storeUserSecrets(project);
    world.docker.setPullDelay(60);
    try {
      const run = await cliJson<RunDetail>(world.daemon, deployArgs(project));
      await waitUntil('the playbook to reach the pull', () =>
        fs.existsSync(path.join(run.folder, 'run.log')) && fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8').includes('TASK [Pull images]') ? true : undefined,
      );
      await world.daemon.stop();
      assert.deepEqual(processesMentioning(run.folder), [], 'shutdown killed the playbook and closed its SSH master');
      assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES);
      await world.daemon.start();
      const after = await runDetail(run.id);
      assert.equal(after.status, 'interrupted');
      assert.match(after.error ?? '', /daemon shut down during the run/);
    } finally {
      world.docker.setPullDelay(0);
    }
  });
});
