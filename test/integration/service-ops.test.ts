/**
 * Operating deployed projects end to end: real daemon, real vault on a private keychain, real sshd, real Ansible
 * deploys and the run's real container engine with compose. `zavhoz service status|logs|restart|stop|start` are run
 * as a user runs them (the CLI), and the engine is asked directly what they did.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { isCancelled } from '../../daemon/client/client.js';
import { dataPaths } from '../../daemon/core/paths.js';
import type { RunDetail, RunSummary } from '../../daemon/protocol/runs.js';
import { type ProjectStatus, type ServiceControlResult, ServicesControl, ServicesDidChange, type ServiceLogLine, type ServiceLogs, ServicesLogLines, ServicesLogs } from '../../daemon/protocol/services.js';
import { CLI_SCRIPT } from '../harness/daemon.js';
import { waitUntil } from '../harness/processes.js';
import { bareRepository, cliJson, deployAndWait, deployArguments, processesMentioning, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

/** Prints a line to a container's log the way the app would: on its main process's stdout. */
async function printInContainer(world: RealDeployWorld, container: string, line: string): Promise<void> {
  await world.target.engine.docker(['exec', container, 'sh', '-c', 'printf "%s\\n" "$1" > /proc/1/fd/1', 'sh', line]);
}

describe('service status, logs, restart, stop and start of deployed projects', () => {
  let world: RealDeployWorld;
  /** Two projects deployed on the world's one server, and their allocated ports. */
  const deployed: { project: string; port: number }[] = [];
  /** The vault value the first project's backend prints at start (its API_TOKEN), through the compose file's LOG_LINE. */
  let canary = '';
  let canaryRepository: { url: string; remove(): void } | undefined;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'service-ops' });
    // The app prints the vault value of API_TOKEN (from .env) to its log at every start.
    canaryRepository = bareRepository(world.fixture, {
      canary: (folder) => {
        const file = path.join(folder, 'infra/compose.base.yml');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('      LOG_LEVEL:', '      LOG_LINE: "started with token ${API_TOKEN} ok"\n      LOG_LEVEL:'));
      },
    });
    for (const prefix of ['ops-a', 'ops-b']) {
      const project = world.newProject(prefix);
      const { apiToken } = await storeUserSecrets(world, project);
      if (!canary) canary = apiToken;
      const extra = deployed.length === 0 ? ['--repo-url', canaryRepository.url, '--ref', 'canary'] : [];
      const { run } = await deployAndWait(world, project, extra);
      deployed.push({ project, port: run.allocation?.port ?? 0 });
    }
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    canaryRepository?.remove();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  /** The container of a project's service, by the engine's compose labels. */
  const containerOf = async (project: string, service: string): Promise<string> => {
    const filters = ['--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`];
    const id = (await world.target.engine.docker(['ps', '-q', ...filters])).stdout.trim();
    assert.ok(id, `a running ${service} container of ${project}`);
    return id;
  };

  /** `docker logs --follow` processes of the first project's containers (the target's SSH sessions run on this machine). */
  const followers = (): number[] =>
    processesMentioning(`${deployed[0]?.project ?? '-'}_`).filter((pid) => {
      try {
        const words = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return words.includes('logs') && words.includes('--follow');
      } catch {
        return false;
      }
    });

  /** Lines of the daemon's log that record one status exec on a server. */
  const statusExecs = (): number =>
    fs
      .readFileSync(dataPaths(world.daemon.home).log, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"service status read"')).length;

  const statusOf = async (project?: string): Promise<ProjectStatus[]> => cliJson<ProjectStatus[]>(world.daemon, ['service', 'status', ...(project ? ['--project', project] : [])]);

  test('status: every module running with its image, digest, start time and URL; one SSH exec for two projects on one server', async () => {
    const execsBefore = statusExecs();
    const rows = await statusOf();
    assert.equal(statusExecs() - execsBefore, 1, 'one status exec on the one server, for both projects');
    assert.deepEqual(
      rows.map((row) => `${row.project}:${row.state}`),
      deployed.map(({ project }) => `${project}:deployed`).sort(),
    );
    for (const { project, port } of deployed) {
      const row = rows.find((candidate) => candidate.project === project);
      assert.ok(row);
      assert.equal(row.server, world.server);
      assert.equal(row.release?.number, 1, 'the release the deploy recorded');
      assert.match(row.release.commit, /^[0-9a-f]{40}$/);
      assert.deepEqual(row.services.map((service) => `${service.service}:${service.state}`), ['backend:running', 'db:running']);
      const backend = row.services.find((service) => service.service === 'backend');
      assert.ok(backend);
      assert.equal(backend.module, 'app');
      assert.equal(backend.url, `http://${world.sshd.host}:${port}`);
      assert.equal(backend.image, world.target.reference);
      assert.equal(backend.health, 'healthy', 'the test image has a health check that passes');
      assert.equal(backend.restarts, 0);
      assert.ok(backend.digest?.includes('@sha256:'), `a registry digest, got ${String(backend.digest)}`);
      assert.ok(backend.startedAt && Date.parse(backend.startedAt) <= Date.now() && Date.parse(backend.startedAt) > Date.now() - 30 * 60_000);
      const answer = await fetch(backend.url, { signal: AbortSignal.timeout(10_000) });
      assert.equal(answer.status, 200, 'the URL status shows answers');
    }
    const table = await world.daemon.cli(['service', 'status', '--project', deployed[0]?.project ?? '']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /PROJECT\s+SERVICE\s+MODULE\s+STATE\s+HEALTH.*SERVER\s+RELEASE/);
    assert.match(table.stdout, new RegExp(`${deployed[0]?.project}\\s+backend\\s+app\\s+running\\s+healthy\\s+0\\s+\\d+[smh]`));
  });

  test('status of a project that was never deployed, and of an unknown one, say what to do', async () => {
    const project = world.newProject('ops-never');
    await cliJson(world.daemon, ['allocate', '--project', project]);
    const [row] = await statusOf(project);
    assert.equal(row?.state, 'not-deployed');
    assert.match(row.error ?? '', /never deployed.*zavhoz deploy/);
    const unknown = await world.daemon.cli(['service', 'status', '--project', 'ops-nothing-here', '--json']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no allocation.*zavhoz deploy/);
    await cliJson(world.daemon, ['allocation', 'release', '--project', project]);
  });

  test('status of a server that cannot be reached: its rows say so, the answer still comes', async () => {
    // The server's SSH port changed to one nobody listens on: its projects' rows say why, the command still answers.
    await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', '1']);
    try {
      const rows = await statusOf();
      assert.deepEqual(rows.map((row) => row.state), ['unreachable', 'unreachable']);
      assert.match(rows[0]?.error ?? '', new RegExp(`Could not read the containers on ${world.server}: .*port 1`));
    } finally {
      await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', String(world.sshd.port)]);
    }
    assert.deepEqual((await statusOf()).map((row) => row.state), ['deployed', 'deployed']);
  });

  test('logs: the canary the app printed is masked in the CLI output, merged over both services, tail and module honoured', async () => {
    const project = deployed[0]?.project ?? '';
    const backend = await containerOf(project, 'backend');
    const marker = `marker-${crypto.randomBytes(4).toString('hex')}`;
    await printInContainer(world, backend, `${marker} says ${canary} twice ${canary}`);
    const text = await world.daemon.cli(['service', 'logs', '--project', project]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(!text.stdout.includes(canary), 'no vault value in the output');
    assert.match(text.stdout, /^backend \| \S+ started with token \[REDACTED\] ok$/m);
    assert.match(text.stdout, new RegExp(`^backend \\| \\S+ ${marker} says \\[REDACTED\\] twice \\[REDACTED\\]$`, 'm'));
    const logs = await cliJson<ServiceLogs>(world.daemon, ['service', 'logs', '--project', project, '--module', 'app', '--tail', '1']);
    assert.deepEqual(logs.services, ['backend'], 'module app is the backend service (it publishes the allocated port)');
    assert.equal(logs.lines.length, 1);
    assert.equal(logs.lines[0]?.text, `${marker} says [REDACTED] twice [REDACTED]`);
    const both = await cliJson<ServiceLogs>(world.daemon, ['service', 'logs', '--project', project, '--since', '1h']);
    assert.deepEqual(both.services, ['backend', 'db']);
    const times = both.lines.map((line) => Date.parse(line.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'lines of both services in time order');
    const unknown = await world.daemon.cli(['service', 'logs', '--project', project, '--module', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no module or service nope .* It has: app, backend, db/);
  });

  test('logs --follow: later lines come as notifications, masked; cancelling stops the remote docker logs', async () => {
    const project = deployed[0]?.project ?? '';
    const backend = await containerOf(project, 'backend');
    const client = await world.daemon.connect('follow-test');
    try {
      const received: ServiceLogLine[] = [];
      const requestId = `follow-${crypto.randomBytes(4).toString('hex')}`;
      client.onNotification(ServicesLogLines, (notification) => {
        if (notification.requestId === requestId) received.push(...notification.lines);
      });
      const source = new CancellationTokenSource();
      const followed = client.request(ServicesLogs, { project, module: 'backend', tail: 0, follow: true }, { token: source.token, requestId });
      followed.catch(() => undefined);
      await waitUntil('the remote docker logs --follow', () => (followers().length > 0 ? true : undefined), 30_000);
      const marker = `live-${crypto.randomBytes(4).toString('hex')}`;
      await printInContainer(world, backend, `${marker} ${canary}`);
      await waitUntil('the followed line', () => (received.some((line) => line.text.startsWith(marker)) ? true : undefined), 30_000);
      assert.deepEqual(received.filter((line) => line.text.startsWith(marker)).map((line) => [line.service, line.text]), [['backend', `${marker} [REDACTED]`]]);
      assert.ok(!JSON.stringify(received).includes(canary));
      source.cancel();
      await assert.rejects(followed, (error: unknown) => isCancelled(error));
      await waitUntil('the remote docker logs to end', () => (followers().length === 0 ? true : undefined), 30_000);
    } finally {
      client.close();
    }
  });

  test('logs --follow goes on across a restart of the container, saying so, and gets the restarted one\'s lines', async () => {
    const project = deployed[0]?.project ?? '';
    const client = await world.daemon.connect('follow-restart');
    try {
      const received: ServiceLogLine[] = [];
      const requestId = `follow-${crypto.randomBytes(4).toString('hex')}`;
      client.onNotification(ServicesLogLines, (notification) => {
        if (notification.requestId === requestId) received.push(...notification.lines);
      });
      const source = new CancellationTokenSource();
      const followed = client.request(ServicesLogs, { project, module: 'backend', tail: 0, follow: true }, { token: source.token, requestId });
      followed.catch(() => undefined);
      await waitUntil('the remote docker logs --follow', () => (followers().length > 0 ? true : undefined), 30_000);
      const restarted = await world.daemon.cli(['service', 'restart', '--project', project, '--module', 'backend']);
      assert.equal(restarted.code, 0, restarted.stderr);
      await waitUntil('the follow to pick up the restarted container', () => (received.some((line) => line.text === '[zavhoz] following the container again') ? true : undefined), 60_000);
      const marker = `after-restart-${crypto.randomBytes(4).toString('hex')}`;
      await printInContainer(world, await containerOf(project, 'backend'), `${marker} ${canary}`);
      await waitUntil('the restarted container\'s line', () => (received.some((line) => line.text.startsWith(marker)) ? true : undefined), 30_000);
      const texts = received.map((line) => line.text);
      assert.ok(texts.indexOf('[zavhoz] the container stopped; following the next one to run') < texts.indexOf('[zavhoz] following the container again'));
      assert.ok(texts.some((text) => /^started with token \[REDACTED\] ok$/.test(text)), 'the restarted container\'s first lines came too');
      assert.ok(!JSON.stringify(received).includes(canary));
      source.cancel();
      await assert.rejects(followed, (error: unknown) => isCancelled(error));
      await waitUntil('the remote docker logs to end', () => (followers().length === 0 ? true : undefined), 30_000);
    } finally {
      client.close();
    }
  });

  test('logs --follow: a client that disconnects stops the remote docker logs too; the CLI ends cleanly on Ctrl-C', async () => {
    const project = deployed[0]?.project ?? '';
    const client = await world.daemon.connect('follow-gone');
    const followed = client.request(ServicesLogs, { project, tail: 1, follow: true });
    followed.catch(() => undefined);
    await waitUntil('the remote docker logs --follow', () => (followers().length > 0 ? true : undefined), 30_000);
    client.close();
    await waitUntil('the remote docker logs to end after the disconnect', () => (followers().length === 0 ? true : undefined), 30_000);

    const cli = spawn(process.execPath, [CLI_SCRIPT, 'service', 'logs', '--project', project, '--follow', '--tail', '5'], { env: world.daemon.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    cli.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    cli.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => cli.once('close', (code) => resolve(code)));
    await waitUntil('the CLI to print the tail', () => (stdout.includes('started with token [REDACTED] ok') ? true : undefined), 30_000);
    assert.ok(!stdout.includes(canary));
    cli.kill('SIGINT');
    assert.equal(await exited, 0, `Ctrl-C ends the follow with exit 0 (${stderr})`);
    await waitUntil('the remote docker logs to end after Ctrl-C', () => (followers().length === 0 ? true : undefined), 30_000);
  });

  test('logs answer within the message limit: a tail larger than it keeps the newest lines and says older ones were left out', async () => {
    const project = deployed[1]?.project ?? '';
    const backend = await containerOf(project, 'backend');
    // 12 000 lines of ~100 bytes: 1.2 MB, more than one answer may carry.
    const script = 'i=0; while [ $i -lt 12000 ]; do printf "bulk %06d %s\\n" $i "$1"; i=$((i+1)); done > /proc/1/fd/1';
    await world.target.engine.docker(['exec', backend, 'sh', '-c', script, 'sh', 'x'.repeat(80)]);
    const result = await world.daemon.cli(['service', 'logs', '--project', project, '--module', 'backend', '--tail', '10000', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Buffer.byteLength(result.stdout) < 1024 * 1024, `the answer fits in a message (${Buffer.byteLength(result.stdout)} bytes)`);
    const logs = JSON.parse(result.stdout) as ServiceLogs;
    assert.equal(logs.truncated, true);
    assert.match(logs.lines.at(-1)?.text ?? '', /^bulk 011999 x+$/, 'the newest line is kept');
    assert.ok(logs.lines.length > 3000 && logs.lines.length < 10_000, `${logs.lines.length} lines`);
    const human = await world.daemon.cli(['service', 'logs', '--project', project, '--module', 'backend', '--tail', '10000']);
    assert.match(human.stdout, /^\(older lines left out: use --tail or --since\)$/m);
  });

  /** Start time of each of a project's services, from `service status`. */
  const startTimes = async (project: string): Promise<Record<string, string>> => {
    const [row] = await statusOf(project);
    return Object.fromEntries((row?.services ?? []).map((service) => [service.service, `${service.state}@${String(service.startedAt)}`]));
  };

  test('restart changes the start time (of one module only with --module); stop leaves it exited, start runs it again; all audited', async () => {
    const project = deployed[1]?.project ?? '';
    const before = await startTimes(project);
    const watcher = await world.daemon.connect('did-change');
    const changes: string[] = [];
    watcher.onNotification(ServicesDidChange, (change) => changes.push(`${change.project}:${change.action}:${change.services.join(',')}`));
    const restarted = await cliJson<ServiceControlResult>(world.daemon, ['service', 'restart', '--project', project, '--module', 'app']);
    assert.deepEqual(restarted.services, ['backend']);
    assert.equal(restarted.waitedFor, undefined);
    const afterRestart = await startTimes(project);
    assert.notEqual(afterRestart.backend, before.backend, 'the backend started again');
    assert.match(afterRestart.backend ?? '', /^running@/);
    assert.equal(afterRestart.db, before.db, 'the db was left alone');

    const stopped = await cliJson<ServiceControlResult>(world.daemon, ['service', 'stop', '--project', project]);
    assert.deepEqual(stopped.status.services.map((service) => `${service.service}:${service.state}`), ['backend:exited', 'db:exited']);
    const table = await world.daemon.cli(['service', 'status', '--project', project]);
    assert.match(table.stdout, new RegExp(`${project}\\s+backend\\s+app\\s+exited \\(\\d+\\)`));

    const started = await cliJson<ServiceControlResult>(world.daemon, ['service', 'start', '--project', project]);
    assert.deepEqual(started.status.services.map((service) => `${service.service}:${service.state}`), ['backend:running', 'db:running']);
    const port = deployed[1]?.port ?? 0;
    await waitUntil('the page to answer again', async () => ((await fetch(`http://${world.sshd.host}:${port}/`).then((answer) => answer.status, () => 0)) === 200 ? true : undefined), 30_000);

    const audit = await cliJson<{ action: string; subject: string; client: string }[]>(world.daemon, ['audit', 'list', '--subject', project]);
    assert.deepEqual(audit.map((entry) => entry.action).slice(0, 3), ['service-start', 'service-stop', 'service-restart']);
    await waitUntil('three services/didChange', () => (changes.length >= 3 ? true : undefined), 10_000);
    watcher.close();
    assert.deepEqual(changes, [`${project}:restart:backend`, `${project}:stop:backend,db`, `${project}:start:backend,db`]);
  });

  test('a restart issued while a deploy of the project runs waits for it (and says for whom); a cancelled wait gives up', async () => {
    const project = deployed[1]?.project ?? '';
    // The deploy's pull hangs (the registry relay holds it) until released: the project is held by that run.
    world.target.relay.stall(true);
    let released = false;
    try {
      const run = await cliJson<RunSummary>(world.daemon, deployArguments(world, project));
      await waitUntil('the deploy to reach its pull', () => (world.target.relay.held > 0 ? true : undefined), 120_000);

      const cancelled = await world.daemon.connect('restart-cancel');
      const source = new CancellationTokenSource();
      const gaveUp = cancelled.request(ServicesControl, { project, action: 'restart' }, { token: source.token });
      gaveUp.catch(() => undefined);

      const cli = spawn(process.execPath, [CLI_SCRIPT, 'service', 'restart', '--project', project, '--json'], { env: world.daemon.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      cli.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      cli.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => cli.once('close', (code) => resolve(code)));
      await waitUntil('the restart to say it waits', () => (stderr.includes(`waiting for the deploy ${run.id} of ${project}`) ? true : undefined), 30_000);
      source.cancel();
      await assert.rejects(gaveUp, (error: unknown) => isCancelled(error));
      cancelled.close();

      world.target.relay.stall(false);
      released = true;
      assert.equal(await exited, 0, stderr);
      const result = JSON.parse(stdout) as ServiceControlResult;
      assert.equal(result.waitedFor, `deploy ${run.id}`);
      const finished = await cliJson<RunDetail>(world.daemon, ['run', 'show', run.id]);
      assert.equal(finished.status, 'succeeded');
      const backend = result.status.services.find((service) => service.service === 'backend');
      assert.equal(backend?.state, 'running');
      assert.ok(Date.parse(backend.startedAt ?? '') >= Date.parse(finished.finishedAt ?? ''), 'the restart ran after the deploy ended');
      const restarts = (await cliJson<{ action: string }[]>(world.daemon, ['audit', 'list', '--subject', project])).filter((entry) => entry.action === 'service-restart');
      assert.equal(restarts.length, 2, 'the earlier restart and this one; the cancelled one never ran');
    } finally {
      if (!released) world.target.relay.stall(false);
    }
  });

  test('restart with the compose v2 plugin on the server (the deploys used v1): found and used the same way', async () => {
    const project = deployed[1]?.project ?? '';
    const before = await startTimes(project);
    world.target.setComposeV2(true);
    try {
      const restarted = await cliJson<ServiceControlResult>(world.daemon, ['service', 'restart', '--project', project]);
      assert.deepEqual(restarted.services, ['backend', 'db']);
      const after = await startTimes(project);
      assert.notEqual(after.backend, before.backend);
      assert.notEqual(after.db, before.db);
    } finally {
      world.target.setComposeV2(false);
    }
  });

  test('restart of a project that was never deployed, and of an unknown module, say what to do', async () => {
    const project = world.newProject('ops-bare');
    await cliJson(world.daemon, ['allocate', '--project', project]);
    const never = await world.daemon.cli(['service', 'restart', '--project', project]);
    assert.equal(never.code, 1);
    assert.match(never.stderr, /was never deployed to deploy_target \(no \/opt\/services\/.*\)\. Deploy it first: zavhoz deploy/);
    await cliJson(world.daemon, ['allocation', 'release', '--project', project]);
    const unknown = await world.daemon.cli(['service', 'stop', '--project', deployed[1]?.project ?? '', '--module', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no module or service nope/);
    const none = await world.daemon.cli(['service', 'start', '--project', 'ops-nothing-here']);
    assert.match(none.stderr, /no allocation.*zavhoz deploy/);
  });
});
