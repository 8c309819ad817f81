/**
 * Agents know servers by name: every tool of the catalogue, called through `zavhoz mcp` (the MCP SDK's own client)
 * on its success path and its error paths (missing arguments, arguments of the wrong type, names and handles that
 * do not exist, deploys that fail on the server or cannot reach it), and every confirmation VS Code would show, is
 * scanned for the test server's address, its SSH user and port, its SSH key handle, and a ghost's address and name.
 * The arguments are made from each tool's own input schema, so a tool added tomorrow is called here too. With
 * `agentSeesAddresses` on, the address shows. Real daemon, vault, sshd, ansible and container engine; GitHub's API is
 * the test double.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AGENT_CLIENT_NAME, AGENT_TOOLS, confirmationFor } from '../../daemon/agent/catalogue.js';
import { AgentDaemonLink } from '../../daemon/agent/link.js';
import type { AgentEnvironment } from '../../daemon/agent/tool.js';
import { DaemonClient } from '../../daemon/client/client.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { FakeGithub } from '../fakes/github.js';
import { removeCiDeployUser } from '../harness/ciDeployUsers.js';
import { freeLoopbackPort } from '../harness/net.js';
import { waitUntil } from '../harness/processes.js';
import { field, type McpSession, type ToolAnswer, startMcp } from './agent-support.js';
import { cliJson, type RealDeployWorld, setUpRealDeployWorld } from './deploy-support.js';

const REPO = 'acme/shop';
/** A personal machine: never contacted (it is a ghost and nothing checks it), never named to an agent. */
const GHOST = { handle: 'personal_laptop', host: '192.0.2.44' };

type Arguments = Record<string, unknown>;

describe('agent isolation: no server address, SSH user, port or key handle in anything an agent sees', () => {
  let world: RealDeployWorld;
  let github: FakeGithub;
  let mcp: McpSession;
  let link: AgentDaemonLink;
  let project: string;
  let firstRun = '';
  /**
   * The target's SSH port while an answer is written (a test below moves it to a closed port and back). An answer
   * given after the move may quote an old run's message with the port the server had then, which is no server's now.
   */
  let sshPort = 0;
  /** Every answer and confirmation, with what produced it and the SSH port at the time. */
  const seen: { readonly what: string; readonly text: string; readonly sshPort: number }[] = [];

  /** Good values by argument name; a tool whose required argument is missing here fails the first test. */
  const good = (): Arguments => ({
    project,
    repository: REPO,
    repoUrl: world.repository.url,
    ref: 'main',
    folder: world.fixture,
    timeoutSeconds: 600,
    run: firstRun,
    name: 'API_TOKEN',
    type: 'token',
    command: ['true'],
  });
  /** Names and handles that do not exist, by argument name. */
  const unknown = (name: string, handles: readonly string[], bindings: readonly string[]): unknown => {
    if (handles.includes(name)) return 'sec_zzzzzzzz';
    if (bindings.includes(name)) return { API_TOKEN: 'sec_zzzzzzzz' };
    const values: Arguments = {
      project: 'no-such-project',
      run: 'run_aaaaaaaaaa',
      repository: 'acme/no-such-repo',
      repoUrl: '/nonexistent/zavhoz-repository.git',
      ref: 'no-such-branch',
      folder: '/nonexistent/zavhoz-folder',
      name: 'NO_SUCH_SECRET',
      label: 'no-such-label',
      environment: 'no-such-environment',
      command: ['no-such-program-zavhoz'],
    };
    return values[name];
  };
  const wrongType = { string: 12_345, integer: 'not-a-number', boolean: 'yes', array: 'not-a-list', object: 'not-a-map' } as const;

  /** The good values of the arguments `tool` takes. */
  const goodFor = (name: string): Arguments => {
    const values = good();
    const tool = AGENT_TOOLS.find((item) => item.name === name);
    assert.ok(tool, name);
    return Object.fromEntries(Object.keys(tool.inputSchema.properties).filter((key) => key in values).map((key) => [key, values[key]]));
  };
  const call = async (what: string, name: string, args: Arguments): Promise<ToolAnswer> => {
    const answer = await mcp.call(name, args);
    seen.push({ what: `${name} ${what}`, text: answer.text, sshPort });
    return answer;
  };

  /** What must never reach an agent, found in `text`. */
  const leaks = (text: string, port = sshPort): string[] => {
    const found: string[] = [];
    if (text.includes(world.sshd.host)) found.push(`the address ${world.sshd.host}`);
    if (text.includes(`${world.sshd.user}@`)) found.push(`the SSH user (${world.sshd.user}@)`);
    // Anywhere, as a number of its own (the port is random, from 32768 up: no other figure here is a 5-digit number like it).
    if (new RegExp(`(?<![\\w.])${port}(?![\\w.])`).test(text)) found.push(`the SSH port ${port}`);
    if (text.includes(world.sshKeyHandle)) found.push('the SSH key handle');
    if (text.includes(GHOST.host) || text.includes(GHOST.handle)) found.push('the ghost');
    return found;
  };

  /** Follows a run through the tool until it ends; every status answer is scanned too. */
  const untilEnded = (run: string): Promise<ToolAnswer> =>
    waitUntil(`run ${run} to end`, async () => {
      const status = await call('(waiting)', 'zavhoz_deploy_status', { run });
      if (!/^(queued|running)/.test(field(status.text, 'status') ?? '')) return status;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return undefined;
    }, 300_000);

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'agent-isolation' });
    sshPort = world.sshd.port;
    github = await FakeGithub.start();
    github.createRepository(REPO);
    const githubToken = `ghp_${crypto.randomBytes(18).toString('hex')}`;
    github.addToken(githubToken, [REPO]);
    const tokenHandle = await world.storeSecret('GITHUB_TOKEN', 'token', githubToken);
    await cliJson(world.daemon, ['config', 'set', 'githubApiBase', github.url]);
    await cliJson(world.daemon, ['config', 'set', 'githubTokenSecret', tokenHandle]);
    await cliJson(world.daemon, ['server', 'add', GHOST.handle, '--host', GHOST.host, '--ssh-port', '2200', '--ssh-key-secret', world.sshKeyHandle]);
    await cliJson(world.daemon, ['server', 'ghost', GHOST.handle]);
    project = world.newProject('isolation');
    await world.storeSecret('API_TOKEN', 'token', `canary-${crypto.randomBytes(8).toString('hex')}`, project);
    await world.storeSecret('WEBHOOK_SECRET', 'text', `canary-${crypto.randomBytes(8).toString('hex')}`, project);
    await cliJson(world.daemon, ['config', 'set', 'agentDeployProjects', JSON.stringify([project])]);
    mcp = await startMcp(world.daemon, world.fixture);
    link = new AgentDaemonLink(() => DaemonClient.connect({ folder: world.daemon.home, clientName: AGENT_CLIENT_NAME }));

    // A deployed project first, so the status and push tools have something real to report.
    const started = await call('(first deploy)', 'zavhoz_deploy', { project, repository: REPO, repoUrl: world.repository.url, timeoutSeconds: 600 });
    assert.equal(started.isError, false, started.text);
    firstRun = field(started.text, 'run') ?? '';
    const done = await untilEnded(firstRun);
    assert.equal(field(done.text, 'status'), 'succeeded (exit 0)', done.text);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    // Pushing CI secrets created deploy users on this machine (the test host): the project's, and the one of the
    // "project that does not exist", which the allocate tool's variant allocated.
    if (typeof project === 'string') removeCiDeployUser(project);
    removeCiDeployUser('no-such-project');
    link?.close();
    await mcp?.close();
    await github?.stop();
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('MCP lists the catalogue, and every required argument of every tool has a good value here', async () => {
    const { tools } = await mcp.client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name), AGENT_TOOLS.map((tool) => tool.name));
    const values = good();
    for (const tool of AGENT_TOOLS) {
      for (const name of tool.inputSchema.required ?? []) {
        assert.ok(name in values, `${tool.name} requires "${name}": give it a good value (and an unknown one) in this test`);
      }
    }
  });

  test('with agentSeesAddresses on, the address, SSH login, URL and key handle show; off again, they are gone', async () => {
    await cliJson(world.daemon, ['config', 'set', 'agentSeesAddresses', 'true']);
    try {
      const listed = await mcp.call('zavhoz_list_managed_servers', {});
      assert.ok(listed.text.includes(`host ${world.sshd.host}`), listed.text);
      assert.ok(listed.text.includes(`ssh ${world.sshd.user}@${world.sshd.host}:${world.sshd.port}`), listed.text);
      const status = await mcp.call('zavhoz_deploy_status', { run: firstRun });
      const url = field(status.text, 'url') ?? '';
      assert.match(url, new RegExp(`^http://${world.sshd.host.replace(/\./g, '\\.')}:\\d+/$`), status.text);
      const page = await fetch(url);
      assert.equal(page.status, 200, 'the project answers on the URL the agent was given');
      // CI gets the project's own deploy key, never the server's: its handle is what the answer names.
      const push = await mcp.call('zavhoz_push_ci_secrets', { project, repository: REPO });
      assert.match(push.text, /- DEPLOY_SSH_KEY: \w+, from sec_[a-z2-7]{8}/, push.text);
      assert.ok(!push.text.includes(world.sshKeyHandle), push.text);
    } finally {
      await cliJson(world.daemon, ['config', 'set', 'agentSeesAddresses', 'false']);
    }
    const again = await mcp.call('zavhoz_list_managed_servers', {});
    assert.deepEqual(leaks(again.text), []);
    assert.match(again.text, /note: server addresses, SSH users, ports and keys are not shown to agents/);
  });
  test('every tool, on its success and error paths, and every confirmation: handles and names only', async () => {
    const environment: AgentEnvironment = { daemon: link, frontEnd: 'vscode', defaults: { folder: world.fixture, repository: REPO } };
    for (const tool of AGENT_TOOLS) {
      const properties = Object.entries(tool.inputSchema.properties);
      const chosen = goodFor(tool.name);
      const bindings = tool.bindingArguments ?? [];
      const variants: [string, Arguments][] = [
        ['(good arguments)', chosen],
        ['(no arguments)', {}],
        ['(an argument it does not take)', { ...chosen, host: world.sshd.host }],
        ...properties.map(([name, schema]): [string, Arguments] => [`(${name} of the wrong type)`, { ...chosen, [name]: wrongType[schema.type] }]),
        ...properties
          .map(([name]) => [name, unknown(name, tool.handleArguments, bindings)] as const)
          .filter(([, value]) => value !== undefined)
          .map(([name, value]): [string, Arguments] => [`(${name} that does not exist)`, { ...chosen, [name]: value }]),
      ];
      for (const [what, args] of variants) {
        await call(what, tool.name, args);
        const confirmation = await confirmationFor(tool.name, args, environment, new AbortController().signal);
        if (confirmation) seen.push({ what: `${tool.name} confirmation ${what}`, text: `${confirmation.title}\n${confirmation.message}`, sshPort });
      }
    }
    assert.ok(seen.some((entry) => entry.what.startsWith('zavhoz_deploy confirmation') && entry.text.includes(`server \`${world.server}\``)), 'confirmations name the server');
  });

  test('deploys that fail on the server, or cannot reach it, report by name too', async () => {
    // The backend exits at start: the health step fails and the status carries the end of the run log.
    const exits = await call('(a branch whose backend exits)', 'zavhoz_deploy', { ...goodFor('zavhoz_deploy'), ref: 'exits' });
    assert.equal(exits.isError, false, exits.text);
    const failed = await untilEnded(field(exits.text, 'run') ?? '');
    assert.match(field(failed.text, 'status') ?? '', /^failed/, failed.text);
    assert.match(failed.text, /last log lines:/);

    // The server's SSH port answers nothing: ssh and Ansible name host and port in their errors.
    const closed = await freeLoopbackPort();
    await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', String(closed)]);
    sshPort = closed;
    try {
      const unreachable = await call('(the server unreachable)', 'zavhoz_deploy', goodFor('zavhoz_deploy'));
      const ended = await untilEnded(field(unreachable.text, 'run') ?? '');
      assert.match(field(ended.text, 'status') ?? '', /^failed/, ended.text);
      assert.match(ended.text, new RegExp(world.server), ended.text);
      await call('(the server unreachable)', 'zavhoz_list_managed_servers', {});
      await call('(the server unreachable)', 'zavhoz_allocate', { project: `${project}-more` });
    } finally {
      await cliJson(world.daemon, ['server', 'update', world.server, '--ssh-port', String(world.sshd.port)]);
      sshPort = world.sshd.port;
    }

    // Every run the calls above started, followed to its end: failed ones show their log tail.
    const runs = await cliJson<RunDetail[]>(world.daemon, ['run', 'list', '--limit', '50']);
    assert.ok(runs.length >= 4, `runs: ${runs.length}`);
    assert.ok(runs.some((run) => run.status === 'failed'));
    for (const run of runs) await untilEnded(run.id);
  });

  test('the scan: nothing any agent answer or confirmation held names the address, SSH user, port or key handle', () => {
    assert.ok(seen.length >= 60, `answers scanned: ${seen.length}`);
    const errors = seen.filter((entry) => /^error|Refused|Invalid arguments/.test(entry.text));
    assert.ok(errors.length >= 20, `error answers scanned: ${errors.length}`);
    const found = seen.flatMap((entry) => leaks(entry.text, entry.sshPort).map((leak) => `${entry.what}: ${leak}\n${entry.text}`));
    assert.deepEqual(found, []);
    assert.ok(seen.some((entry) => entry.text.includes(`- ${world.server}: status`)), 'the server is listed by handle');
    assert.ok(seen.some((entry) => /- DEPLOY_SSH_KEY: \w+, from sec_[a-z2-7]{8}/.test(entry.text)), "the pushed SSH key is the project's own CI key, by its handle");
  });

});
