/**
 * `zavhoz mcp` driven by the MCP SDK's own client, end to end: a real daemon with the real vault on a private
 * keychain, a real sshd as the deploy target, real ansible-playbook and git, the run's real container engine and
 * registry (the deploy starts the project's containers); GitHub's API (test/fakes/github.ts) is a test double. Canary secrets sit in the vault; every tool
 * answer, the server's stderr, the daemon log, the run log and the audit log are scanned for them.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import type { AuditEntryView } from '../../daemon/protocol/audit.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { FakeGithub } from '../fakes/github.js';
import { removeCiDeployUser } from '../harness/ciDeployUsers.js';
import { waitUntil } from '../harness/processes.js';
import { cliJson, type RealDeployWorld, setUpRealDeployWorld } from './deploy-support.js';
import { assertNoCanary, field, type McpSession, startMcp } from './agent-support.js';

const REPO = 'acme/shop';
/** The tools for deployed services: listed here, called in agent-services.test.ts. */
const DAY_TWO_TOOLS = ['zavhoz_service_status', 'zavhoz_service_logs', 'zavhoz_restart_service', 'zavhoz_rollback'];
/** Listed here, called in agent-permissions.test.ts. */
const PERMISSION_TOOLS = ['zavhoz_exec_with_secrets'];
const TOOLS = [
  'zavhoz_list_managed_servers',
  'zavhoz_allocate',
  'zavhoz_env_plan',
  'zavhoz_request_secret',
  'zavhoz_deploy',
  'zavhoz_deploy_status',
  'zavhoz_push_ci_secrets',
  ...DAY_TWO_TOOLS,
  ...PERMISSION_TOOLS,
];
const REFUSAL = /pass a handle; call zavhoz_request_secret to ask the human for the value/;

describe('zavhoz mcp: the agent tools over MCP, secrets never reaching the agent', () => {
  let world: RealDeployWorld;
  let github: FakeGithub;
  let mcp: McpSession;
  let project: string;
  /** Canary values: in the vault, never in anything an agent or a log sees. */
  const canaries = new Map<string, string>();
  let runId = '';

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'agent-mcp' });
    github = await FakeGithub.start();
    github.createRepository(REPO);
    const githubToken = `ghp_${crypto.randomBytes(18).toString('hex')}`;
    github.addToken(githubToken, [REPO]);
    const tokenHandle = await world.storeSecret('GITHUB_TOKEN', 'token', githubToken);
    await cliJson(world.daemon, ['config', 'set', 'githubApiBase', github.url]);
    await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', tokenHandle]);
    // A personal machine: stored, marked as a ghost, never shown to an agent.
    await cliJson(world.daemon, ['server', 'add', 'personal_laptop', '--host', '127.0.0.1', '--ssh-port', '1']);
    await cliJson(world.daemon, ['server', 'ghost', 'personal_laptop']);
    project = world.newProject('agent');
    canaries.set('github token', githubToken);
    canaries.set('ssh key', world.sshd.clientKey.privateKeyPem);
    mcp = await startMcp(world.daemon, world.fixture);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    if (typeof project === "string") removeCiDeployUser(project);
    await mcp?.close();
    await github?.stop();
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('tools/list: every tool, with annotations that say which change things', async () => {
    const { tools } = await mcp.client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name), TOOLS);
    const hints = Object.fromEntries(tools.map((tool) => [tool.name, tool.annotations]));
    assert.equal(hints.zavhoz_list_managed_servers?.readOnlyHint, true);
    assert.equal(hints.zavhoz_env_plan?.readOnlyHint, true);
    assert.equal(hints.zavhoz_deploy_status?.readOnlyHint, true);
    assert.deepEqual([hints.zavhoz_allocate?.readOnlyHint, hints.zavhoz_allocate?.idempotentHint, hints.zavhoz_allocate?.destructiveHint], [false, true, false]);
    assert.deepEqual([hints.zavhoz_deploy?.readOnlyHint, hints.zavhoz_deploy?.destructiveHint], [false, true]);
    assert.deepEqual([hints.zavhoz_push_ci_secrets?.readOnlyHint, hints.zavhoz_push_ci_secrets?.destructiveHint], [false, true]);
    assert.equal(hints.zavhoz_request_secret?.readOnlyHint, false);
    const deploy = tools.find((tool) => tool.name === 'zavhoz_deploy');
    assert.deepEqual(deploy?.inputSchema.required, ['project']);
    assert.ok(deploy.inputSchema.properties && 'gitToken' in deploy.inputSchema.properties);
  });

  test('list managed servers: the deploy target by handle with its status, no address; the ghost never appears', async () => {
    const answer = await mcp.call('zavhoz_list_managed_servers', {});
    assert.equal(answer.isError, false, answer.text);
    assert.match(answer.text, /^1 managed server\(s\):/);
    assert.match(answer.text, new RegExp(`- ${world.server}: status ready; RAM `));
    assert.ok(!answer.text.includes(world.sshd.host), 'no address');
    assert.ok(!answer.text.includes('personal_laptop'), 'the ghost server is not listed');
  });

  test('allocate: a server and a port per module; calling again changes nothing', async () => {
    const first = await mcp.call('zavhoz_allocate', { project });
    assert.equal(first.isError, false, first.text);
    assert.equal(field(first.text, 'server'), world.server);
    assert.equal(field(first.text, 'status'), 'allocated app');
    const port = Number(/- app: port (\d+)/.exec(first.text)?.[1]);
    assert.ok(port >= 8000, first.text);
    const again = await mcp.call('zavhoz_allocate', { project });
    assert.equal(field(again.text, 'status'), 'already allocated, nothing changed');
    assert.match(again.text, new RegExp(`- app: port ${port},`));
  });

  test('plan, ask for the missing secrets, plan again: handles appear, values never', async () => {
    const plan = await mcp.call('zavhoz_env_plan', { project });
    assert.equal(plan.isError, false, plan.text);
    assert.match(plan.text, /^ready: no: 2 variable\(s\) missing$/m);
    assert.match(plan.text, /POSTGRES_PASSWORD: infra, generated by the deploy/);
    assert.match(plan.text, new RegExp(`API_TOKEN \\(type token\\): call zavhoz_request_secret with name API_TOKEN, type token, project ${project}`));

    // Over MCP nobody can be shown a form: the tool answers with the command the human runs.
    const ask = await mcp.call('zavhoz_request_secret', { name: 'API_TOKEN', type: 'token', project });
    assert.equal(ask.isError, false, ask.text);
    assert.equal(field(ask.text, 'status'), 'needs-human');
    assert.equal(field(ask.text, 'command'), `zavhoz secret set API_TOKEN --type token --project ${project}`);
    assert.match(ask.text, /call zavhoz_request_secret again/);

    // The human runs exactly that command, the value on stdin.
    const apiToken = `canary-api-${crypto.randomBytes(16).toString('base64url')}`;
    const webhook = `canary hook ${crypto.randomBytes(12).toString('hex')} 'quoted'`;
    canaries.set('API_TOKEN', apiToken);
    canaries.set('WEBHOOK_SECRET', webhook);
    const command = (field(ask.text, 'command') ?? '').split(' ').slice(1);
    const stored = await cliJson<{ handle: string }>(world.daemon, command, apiToken);
    await world.storeSecret('WEBHOOK_SECRET', 'text', webhook, project);

    const again = await mcp.call('zavhoz_request_secret', { name: 'API_TOKEN', type: 'token', project });
    assert.equal(field(again.text, 'status'), 'stored');
    assert.equal(field(again.text, 'handle'), stored.handle);

    const ready = await mcp.call('zavhoz_env_plan', { project });
    assert.match(ready.text, /^ready: yes/m);
    assert.match(ready.text, new RegExp(`API_TOKEN: user, bound to ${stored.handle}`));
  });

  test('deploy is refused until the human allows agent deploys of the project, then runs over SSH', async () => {
    const deployArguments = { project, repository: 'Acme/Demo', repoUrl: world.repository.url, timeoutSeconds: 600 };
    const refused = await mcp.call('zavhoz_deploy', deployArguments);
    assert.equal(refused.isError, true);
    assert.match(refused.text, /agent deploys of .* are not allowed/);
    assert.match(refused.text, new RegExp(`zavhoz config set agentDeployProjects '\\["${project}"\\]'`));
    const runs = await cliJson<unknown[]>(world.daemon, ['run', 'list', '--project', project]);
    assert.equal(runs.length, 0, 'nothing ran');

    await cliJson(world.daemon, ['config', 'set', 'agentDeployProjects', JSON.stringify([project])]);
    const started = await mcp.call('zavhoz_deploy', deployArguments);
    assert.equal(started.isError, false, started.text);
    runId = field(started.text, 'run') ?? '';
    assert.match(runId, /^run_[a-z2-7]{10}$/);
    assert.equal(field(started.text, 'server'), world.server);
    assert.match(field(started.text, 'requested by') ?? '', /^agent \(agent-/);

    const done = await waitUntil('the deploy to end', async () => {
      const status = await mcp.call('zavhoz_deploy_status', { run: runId });
      const value = field(status.text, 'status') ?? '';
      if (!/^(queued|running)/.test(value)) return status;
      // An agent asks now and then, not ten times a second (each call is an audit entry).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return undefined;
    }, 300_000);
    assert.equal(field(done.text, 'status'), 'succeeded (exit 0)', done.text);
    // The agent learns the server and port; the URL on the server's address is the human's (agentSeesAddresses shows it).
    assert.match(field(done.text, 'url') ?? '', new RegExp(`^port \\d+ of server ${world.server} \\(server addresses are hidden from agents\\)$`));
    const run = await cliJson<RunDetail>(world.daemon, ['run', 'show', runId]);
    const page = await fetch(`http://${run.allocation?.host ?? ''}:${run.allocation?.port ?? 0}/`);
    assert.equal(page.status, 200, 'the project answers on its URL');
    assert.match(await page.text(), /^test-web 1\.0\.0$/m, "the project's container serves it");
    assert.match(done.text, /- health: succeeded/);

    const latest = await mcp.call('zavhoz_deploy_status', { project });
    assert.equal(field(latest.text, 'run'), runId);
  });

  test('push CI secrets: GitHub gets the sealed values, the agent gets names and sources', async () => {
    const answer = await mcp.call('zavhoz_push_ci_secrets', { project, repository: REPO });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(field(answer.text, 'status'), 'pushed 7 secret(s)');
    // The project's own CI key (a vault handle of its own), not the server's key.
    assert.match(answer.text, /- DEPLOY_SSH_KEY: created, from sec_[a-z2-7]{8}/);
    assert.ok(!answer.text.includes(world.sshKeyHandle), 'the SSH key handle is not shown');
    assert.match(answer.text, /- DEPLOY_HOST: created, from computed/);
    assert.match(github.plaintext(REPO, 'DEPLOY_SSH_KEY') ?? '', /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    assert.notEqual(github.plaintext(REPO, 'DEPLOY_SSH_KEY'), world.sshd.clientKey.privateKeyPem);
    assert.equal(github.plaintext(REPO, 'DEPLOY_HOST'), world.sshd.host);
  });

  test('a value where a handle belongs, or a secret-looking free-text argument, is refused without echoing it', async () => {
    const apiToken = canaries.get('API_TOKEN') ?? '';
    const telegram = `123456789:${crypto.randomBytes(26).toString('base64url').slice(0, 35)}`;
    const pem = world.sshd.clientKey.privateKeyPem;
    const githubToken = canaries.get('github token') ?? '';
    const slackToken = `xoxb-${crypto.randomBytes(12).toString('hex')}`;
    const randomToken = 'Zx9qL2vT8mN4rB7kW1pY6cH3';
    /** Tool, arguments, and the value that must be refused (and never echoed). */
    const attempts: [string, Record<string, unknown>, string][] = [
      ['zavhoz_deploy', { project, repository: 'Acme/Demo', gitToken: apiToken }, apiToken],
      ['zavhoz_deploy', { project, repository: 'Acme/Demo', registryToken: githubToken }, githubToken],
      ['zavhoz_deploy', { project, repository: 'Acme/Demo', bindings: { API_TOKEN: apiToken } }, apiToken],
      ['zavhoz_env_plan', { project, bindings: { WEBHOOK_SECRET: 'sec_notahandle!' } }, 'sec_notahandle!'],
      ['zavhoz_allocate', { project: githubToken }, githubToken],
      ['zavhoz_list_managed_servers', { label: telegram }, telegram],
      ['zavhoz_env_plan', { project, folder: `/tmp/${pem}` }, pem.split('\n')[1] ?? pem],
      ['zavhoz_push_ci_secrets', { project, repository: REPO, environment: slackToken }, slackToken],
      ['zavhoz_request_secret', { name: 'API_TOKEN', type: 'token', project: randomToken }, randomToken],
    ];
    for (const [tool, args, value] of attempts) {
      const answer = await mcp.call(tool, args);
      assert.equal(answer.isError, true, `${tool} ${Object.keys(args).join(',')}: ${answer.text}`);
      assert.match(answer.text, REFUSAL, answer.text);
      assert.ok(!answer.text.includes(value), `${tool} does not echo the refused value`);
    }
    canaries.set('telegram token', telegram);
    const runs = await cliJson<unknown[]>(world.daemon, ['run', 'list', '--project', project]);
    assert.equal(runs.length, 1, 'no refused deploy started a run');
  });

  test('every tool call is in the audit log as client "agent"; refused calls by argument name only', async () => {
    const entries = await cliJson<AuditEntryView[]>(world.daemon, ['audit', 'list', '--limit', '10000']);
    const calls = entries.filter((entry) => entry.action === 'agent-tool');
    assert.ok(calls.every((entry) => entry.client === 'agent'), 'tool calls are recorded under the agent client');
    assert.deepEqual(new Set(calls.map((entry) => entry.subject)), new Set(TOOLS.filter((name) => !DAY_TWO_TOOLS.includes(name) && !PERMISSION_TOOLS.includes(name))));
    assert.equal(calls.length, mcp.answers.length, 'one audit entry per tool call');
    const refusedDeploy = calls.find((entry) => entry.subject === 'zavhoz_deploy' && entry.detail.outcome === 'refused' && String(entry.detail.arguments).includes('gitToken'));
    assert.deepEqual(refusedDeploy?.detail.arguments, ['project', 'repository', 'gitToken']);
    const deploy = entries.find((entry) => entry.action === 'deploy' && entry.subject === project);
    assert.equal(deploy?.client, 'agent', 'the deploy itself is recorded as started by the agent');
    assert.ok(entries.some((entry) => entry.action === 'github-push' && entry.client === 'agent'));
  });

  test('canary scan: no secret value in any tool answer, the MCP server\'s stderr, the daemon log, the run log or the audit log', async () => {
    const run = await cliJson<RunDetail>(world.daemon, ['run', 'show', runId]);
    const passwordHandle = run.plan?.variables.find((variable) => variable.name === 'POSTGRES_PASSWORD')?.handle ?? '';
    const password = await cliJson<{ value: string }>(world.daemon, ['secret', 'reveal', passwordHandle, '--yes']);
    canaries.set('generated POSTGRES_PASSWORD', password.value);
    assert.ok(mcp.answers.length >= 20);
    assertNoCanary('tool answers', mcp.answers.join('\n'), canaries);
    assertNoCanary('the MCP server stderr', mcp.stderr(), canaries);
    assertNoCanary('the daemon log', fs.readFileSync(dataPaths(world.daemon.home).log, 'utf8'), canaries);
    assertNoCanary('run.log', fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8'), canaries);
    const audit = await world.daemon.cli(['audit', 'list', '--limit', '1000', '--json']);
    assertNoCanary('the audit log', audit.stdout, canaries);
    assert.deepEqual(mcp.protocolErrors, [], 'stdout carried MCP messages only');
    assert.match(mcp.stderr(), new RegExp(`^zavhoz mcp: serving ${TOOLS.length} tools`, 'm'));
  });
});
