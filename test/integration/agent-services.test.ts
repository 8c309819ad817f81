/**
 * The day-2 agent tools over MCP (the SDK's own client against `zavhoz mcp`), on a project really deployed: real
 * daemon and vault on a private keychain, real sshd, real Ansible and the run's real container engine. The app
 * prints a vault value to its log at every start (the test image's LOG_LINE); the logs tool must show it masked,
 * and no tool answer may carry it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ReleaseSummary } from '../../daemon/protocol/releases.js';
import { waitUntil } from '../harness/processes.js';
import { assertNoCanary, field, type McpSession, startMcp } from './agent-support.js';
import { bareRepository, cliJson, deployAndWait, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

describe('agent tools for deployed services over MCP: status, redacted logs, restart, rollback', () => {
  let world: RealDeployWorld;
  let mcp: McpSession;
  let project = '';
  let port = 0;
  const canaries = new Map<string, string>();
  let canaryRepository: { url: string; remove(): void } | undefined;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'agent-services' });
    // The app prints the vault value of API_TOKEN (from .env) to its log at every start.
    canaryRepository = bareRepository(world.fixture, {
      canary: (folder) => {
        const file = path.join(folder, 'infra/compose.base.yml');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('      LOG_LEVEL:', '      LOG_LINE: "started with token ${API_TOKEN} ok"\n      LOG_LEVEL:'));
      },
    });
    project = world.newProject('agent-ops');
    const { apiToken, webhook } = await storeUserSecrets(world, project);
    canaries.set('API_TOKEN', apiToken);
    canaries.set('WEBHOOK_SECRET', webhook);
    canaries.set('ssh key', world.sshd.clientKey.privateKeyPem);
    const { run } = await deployAndWait(world, project, ['--repo-url', canaryRepository.url, '--ref', 'canary']);
    port = run.allocation?.port ?? 0;
    mcp = await startMcp(world.daemon, world.fixture);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await mcp?.close();
    await world?.dispose();
    canaryRepository?.remove();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  /** The backend container's start time as the engine reports it. */
  const backendStartedAt = async (): Promise<string> => {
    const filters = ['--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=backend'];
    const id = (await world.target.engine.docker(['ps', '-q', ...filters])).stdout.trim();
    assert.ok(id, 'a running backend container');
    return (await world.target.engine.docker(['inspect', '--format', '{{.State.StartedAt}}', id])).stdout.trim();
  };

  test('tools/list has the service tools; status and logs are read-only, restart and rollback are not', async () => {
    const { tools } = await mcp.client.listTools();
    const hints = Object.fromEntries(tools.map((tool) => [tool.name, tool.annotations]));
    assert.equal(hints.zavhoz_service_status?.readOnlyHint, true);
    assert.equal(hints.zavhoz_service_logs?.readOnlyHint, true);
    assert.equal(hints.zavhoz_restart_service?.readOnlyHint, false);
    assert.deepEqual([hints.zavhoz_rollback?.readOnlyHint, hints.zavhoz_rollback?.destructiveHint], [false, true]);
  });

  test('status: the project on its server, each container running and healthy with its URL', async () => {
    const answer = await mcp.call('zavhoz_service_status', { project });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(field(answer.text, 'project'), project);
    assert.equal(field(answer.text, 'server'), world.server);
    assert.equal(field(answer.text, 'state'), 'deployed');
    // Agents see servers by handle: the URL names the server, not its address.
    assert.match(answer.text, new RegExp(`^- backend \\(module app\\): running, healthy, 0 restarts, up since \\S+, image \\S+@sha256:[0-9a-f]{64}, url http://${world.server}(:${port})?/?$`, 'm'));
    assert.ok(!answer.text.includes(world.sshd.host), 'no server address reaches the agent');
    assert.match(answer.text, /^- db: running, /m);
    const all = await mcp.call('zavhoz_service_status', {});
    assert.equal(all.isError, false, all.text);
    assert.match(all.text, new RegExp(`^project: ${project}$`, 'm'));
    const unknown = await mcp.call('zavhoz_service_status', { project: 'agent-nothing-here' });
    assert.equal(unknown.isError, true);
    assert.match(unknown.text, /no allocation/);
  });

  test('logs: the vault value the app printed comes masked; tail and module are honoured and bounded', async () => {
    const answer = await mcp.call('zavhoz_service_logs', { project });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(field(answer.text, 'services'), 'backend, db');
    assert.match(answer.text, /^backend \| started with token \[REDACTED\] ok$/m);
    assertNoCanary('the logs tool answer', answer.text, canaries);
    const one = await mcp.call('zavhoz_service_logs', { project, module: 'app', tail: 1 });
    assert.equal(one.isError, false, one.text);
    assert.equal(field(one.text, 'services'), 'backend');
    assert.equal(field(one.text, 'lines'), '1');
    const tooMany = await mcp.call('zavhoz_service_logs', { project, tail: 5000 });
    assert.equal(tooMany.isError, true);
    assert.match(tooMany.text, /tail/);
  });

  test('restart: the containers start again, the app answers, and its new start line is masked too', async () => {
    const before = await backendStartedAt();
    const refused = await mcp.call('zavhoz_restart_service', { project, module: 'backend' });
    assert.equal(refused.isError, true, refused.text);
    assert.match(refused.text, new RegExp(`agent restarts of ${project} are not allowed[\\s\\S]*zavhoz agent grant --project ${project} --allow restart --ttl 2h`));
    assert.ok(!refused.text.includes('agentDeployProjects'), 'the setting does not allow restarts, so it is not offered');
    assert.equal(await backendStartedAt(), before, 'a refused restart restarts nothing');
    await cliJson(world.daemon, ['agent', 'grant', '--project', project, '--allow', 'restart', '--ttl', '10m']);
    const answer = await mcp.call('zavhoz_restart_service', { project, module: 'backend' });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(field(answer.text, 'restarted'), 'backend');
    assert.match(answer.text, /^- backend \(module app\): running/m);
    assert.notEqual(await backendStartedAt(), before, 'the backend container started again');
    const page = await waitUntil('the app to answer after the restart', async () => {
      try {
        const response = await fetch(`http://${world.sshd.host}:${port}/`, { signal: AbortSignal.timeout(5000) });
        return response.status === 200 ? response : undefined;
      } catch {
        return undefined;
      }
    }, 60_000);
    assert.equal(page.status, 200);
    const logs = await mcp.call('zavhoz_service_logs', { project, module: 'backend', tail: 10 });
    assert.equal((logs.text.match(/^backend \| started with token \[REDACTED\] ok$/gm) ?? []).length >= 2, true, logs.text);
  });

  test('rollback: refused over MCP until the human allows agent deploys of the project, then redeploys the earlier release', async () => {
    // A second release: main, whose app prints no start line.
    await deployAndWait(world, project, ['--repo-url', canaryRepository?.url ?? '', '--ref', 'main']);
    const releases = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]);
    assert.deepEqual(releases.map((release) => [release.number, release.ref]), [[2, 'main'], [1, 'canary']]);

    const refused = await mcp.call('zavhoz_rollback', { project });
    assert.equal(refused.isError, true, refused.text);
    assert.match(refused.text, /agent deploys \(and rollbacks\) of .* are not allowed/);

    await cliJson(world.daemon, ['config', 'set', 'agentDeployProjects', JSON.stringify([project])]);
    const started = await mcp.call('zavhoz_rollback', { project });
    assert.equal(started.isError, false, started.text);
    assert.equal(field(started.text, 'kind'), 'rollback');
    assert.equal(field(started.text, 'rollback to'), releases[1]?.id);
    const run = field(started.text, 'run') ?? '';
    const done = await waitUntil('the rollback to end', async () => {
      const status = await mcp.call('zavhoz_deploy_status', { run });
      if (!/^(queued|running)/.test(field(status.text, 'status') ?? '')) return status;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return undefined;
    }, 300_000);
    assert.equal(field(done.text, 'status'), 'succeeded (exit 0)', done.text);
    const after = await cliJson<ReleaseSummary[]>(world.daemon, ['release', 'list', '--project', project]);
    assert.deepEqual([after[0]?.number, after[0]?.kind, after[0]?.rolledBackTo], [3, 'rollback', releases[1]?.id]);
    // The canary release is back: its app prints its start line again, masked.
    const logs = await mcp.call('zavhoz_service_logs', { project, module: 'backend', tail: 5 });
    assert.match(logs.text, /^backend \| started with token \[REDACTED\] ok$/m);
  });

  test('no tool answer and nothing the MCP server printed carries a vault value', () => {
    for (const [index, text] of mcp.answers.entries()) assertNoCanary(`answer ${index}`, text, canaries);
    assertNoCanary('the MCP server stderr', mcp.stderr(), canaries);
    assert.deepEqual(mcp.protocolErrors, []);
  });
});
