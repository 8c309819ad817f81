/**
 * What agents may do, over MCP (the SDK's own client) against a real daemon with the real vault on a private keychain:
 * the agent mode decides which tools an agent sees and may call, `zavhoz mcp --read-only` offers read tools only,
 * grants let MCP deploys through for a time, and `zavhoz_exec_with_secrets` runs only command lines a human approved
 * (through the client's elicitation, or `zavhoz agent commands approve`), with their output masked.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { waitUntil } from '../harness/processes.js';
import { field, type McpSession, startMcp } from './agent-support.js';
import { cliJson, FIXTURE } from './deploy-support.js';

const READ_TOOLS = ['zavhoz_list_managed_servers', 'zavhoz_env_plan', 'zavhoz_deploy_status', 'zavhoz_service_status', 'zavhoz_service_logs'];

describe('agent permissions over MCP: modes', () => {
  let keyring: KeyringSession;
  let daemon: TestDaemon;
  let mcp: McpSession;
  let readOnly: McpSession;

  before(async () => {
    keyring = await startKeyring();
    daemon = await startTestDaemon({ env: keyring.env });
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '0']);
    mcp = await startMcp(daemon, FIXTURE);
    readOnly = await startMcp(daemon, FIXTURE, { extra: ['--read-only'] });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await readOnly?.close();
    await mcp?.close();
    await daemon?.dispose();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('zavhoz mcp --read-only lists no tool that changes anything, and refuses one that does, saying why', async () => {
    const { tools } = await readOnly.client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name), READ_TOOLS);
    for (const tool of tools) {
      assert.equal(tool.annotations?.readOnlyHint, true, `${tool.name} is read-only`);
      assert.notEqual(tool.annotations.destructiveHint, true, `${tool.name} destroys nothing`);
    }
    const refused = await readOnly.call('zavhoz_restart_service', { project: 'shop' });
    assert.equal(refused.isError, true);
    assert.match(refused.text, /zavhoz_restart_service needs agent mode "operate", and this MCP server was started with --read-only/);
    assert.match(readOnly.stderr(), /serving 5 tools \(read-only\)/);
  });

  test('the default mode (deploy) keeps every tool; read-only and operate filter the list and refuse calls above them', async () => {
    const all = (await mcp.client.listTools()).tools.map((tool) => tool.name);
    assert.ok(all.includes('zavhoz_deploy') && all.includes('zavhoz_restart_service'), all.join(','));

    let changes = 0;
    mcp.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes += 1;
    });
    await cliJson(daemon, ['config', 'set', 'agentMode', 'read-only']);
    await waitUntil('the MCP client to hear that the tool list changed', () => (changes > 0 ? true : undefined), 10_000);
    assert.deepEqual((await mcp.client.listTools()).tools.map((tool) => tool.name), READ_TOOLS);
    const deploy = await mcp.call('zavhoz_deploy', { project: 'shop', repository: 'acme/shop' });
    assert.equal(deploy.isError, true);
    assert.match(deploy.text, /zavhoz_deploy needs agent mode "deploy"; agents here are in mode "read-only" \(setting agentMode\)\. The human allows it with: zavhoz config set agentMode deploy/);
    const restart = await mcp.call('zavhoz_restart_service', { project: 'shop' });
    assert.match(restart.text, /zavhoz config set agentMode operate/);
    const status = await mcp.call('zavhoz_deploy_status', {});
    assert.equal(status.isError, false, status.text);

    await cliJson(daemon, ['config', 'set', 'agentMode', 'operate']);
    const operate = (await mcp.client.listTools()).tools.map((tool) => tool.name);
    assert.ok(operate.includes('zavhoz_restart_service') && operate.includes('zavhoz_request_secret'), operate.join(','));
    for (const name of ['zavhoz_deploy', 'zavhoz_rollback', 'zavhoz_allocate', 'zavhoz_push_ci_secrets']) assert.ok(!operate.includes(name), name);
    const rollback = await mcp.call('zavhoz_rollback', { project: 'shop' });
    assert.match(rollback.text, /needs agent mode "deploy"; agents here are in mode "operate"/);

    // The read-only server stays read-only whatever the setting allows.
    await cliJson(daemon, ['config', 'set', 'agentMode', 'deploy']);
    assert.deepEqual((await readOnly.client.listTools()).tools.map((tool) => tool.name), READ_TOOLS);
    const runs = await cliJson<unknown[]>(daemon, ['run', 'list']);
    assert.equal(runs.length, 0, 'no refused call started anything');
  });

  test('refusals by mode are in the audit log as refused agent calls', async () => {
    const entries = await cliJson<{ action: string; subject: string; client: string; detail: { outcome?: string; reason?: string } }[]>(daemon, ['audit', 'list', '--limit', '1000']);
    const refused = entries.filter((entry) => entry.action === 'agent-tool' && entry.detail.outcome === 'refused');
    assert.ok(refused.some((entry) => entry.subject === 'zavhoz_deploy' && /agent mode/.test(entry.detail.reason ?? '')));
    assert.ok(refused.every((entry) => entry.client === 'agent'));
  });
});

describe('agent permissions: grants', () => {
  let keyring: KeyringSession;
  let daemon: TestDaemon;
  let mcp: McpSession;
  const deployArguments = { project: 'shop', repository: 'acme/shop' };

  before(async () => {
    keyring = await startKeyring();
    daemon = await startTestDaemon({ env: keyring.env });
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '0']);
    mcp = await startMcp(daemon, FIXTURE);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await mcp?.close();
    await daemon?.dispose();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('without a grant an MCP deploy is refused with the commands that allow it', async () => {
    const refused = await mcp.call('zavhoz_deploy', deployArguments);
    assert.equal(refused.isError, true);
    assert.match(refused.text, /agent deploys of shop are not allowed/);
    assert.match(refused.text, /zavhoz agent grant --project shop --allow deploy --ttl 2h/);
    assert.match(refused.text, /zavhoz config set agentDeployProjects '\["shop"\]'/);
    const usage = await daemon.cli(['agent', 'grant', '--project', 'shop', '--allow', 'deploy,reboot', '--ttl', '2h']);
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /--allow takes a list of deploy, rollback, restart/);
    assert.equal((await daemon.cli(['agent', 'grant', '--project', 'shop', '--allow', 'deploy', '--ttl', '2 weeks'])).code, 2);
  });

  test('a grant lets the deploy through until it expires; then the refusal says how to renew it', async () => {
    const grant = await cliJson<{ id: string; expiresAt: string; allow: string[] }>(daemon, ['agent', 'grant', '--project', 'shop', '--allow', 'deploy,rollback', '--ttl', '3s']);
    assert.match(grant.id, /^grt_[a-z2-7]{10}$/);
    assert.deepEqual(grant.allow, ['deploy', 'rollback']);
    const allowed = await mcp.call('zavhoz_deploy', deployArguments);
    assert.doesNotMatch(allowed.text, /Refused/, 'the grant lets the call reach the daemon');
    const listed = await cliJson<{ id: string; status: string }[]>(daemon, ['agent', 'grants']);
    assert.deepEqual(listed.map((entry) => [entry.id, entry.status]), [[grant.id, 'active']]);

    await waitUntil('the grant to expire', async () => ((await cliJson<unknown[]>(daemon, ['agent', 'grants'])).length === 0 ? true : undefined), 10_000);
    const expired = await mcp.call('zavhoz_rollback', { project: 'shop' });
    assert.equal(expired.isError, true);
    assert.match(expired.text, new RegExp(`the agent grant ${grant.id} for shop \\(deploy, rollback\\) expired at ${grant.expiresAt.replace(/\./g, '\\.')}`));
    assert.match(expired.text, /The human renews it with: zavhoz agent grant --project shop --allow deploy,rollback --ttl 2h\./);
    const all = await cliJson<{ id: string; status: string }[]>(daemon, ['agent', 'grants', '--all']);
    assert.deepEqual(all.map((entry) => [entry.id, entry.status]), [[grant.id, 'expired']]);
  });

  test('agentDeployProjects still works as a grant without expiry; revoke by project ends grants and the setting entry; all audited', async () => {
    await cliJson(daemon, ['config', 'set', 'agentDeployProjects', '["shop"]']);
    const listed = await cliJson<{ id: string; source: string; expiresAt: string | null; allow: string[] }[]>(daemon, ['agent', 'grants', '--project', 'shop']);
    assert.deepEqual(listed, [{ id: 'setting:shop', project: 'shop', allow: ['deploy', 'rollback'], source: 'setting', createdAt: null, expiresAt: null, status: 'active', createdBy: null }]);
    const allowed = await mcp.call('zavhoz_deploy', deployArguments);
    assert.doesNotMatch(allowed.text, /Refused/);

    const grant = await cliJson<{ id: string }>(daemon, ['agent', 'grant', '--project', 'shop', '--allow', 'restart', '--ttl', '1h']);
    const revoked = await cliJson<{ revoked: string[] }>(daemon, ['agent', 'revoke', '--project', 'shop']);
    assert.deepEqual(revoked.revoked, [grant.id, 'setting:shop']);
    assert.deepEqual(await cliJson(daemon, ['config', 'get', 'agentDeployProjects']), []);
    const refused = await mcp.call('zavhoz_deploy', deployArguments);
    assert.match(refused.text, /agent deploys of shop are not allowed/);
    assert.equal((await daemon.cli(['agent', 'revoke', 'grt_aaaaaaaaaa'])).code, 1);

    const entries = await cliJson<{ action: string; subject: string; client: string; detail: Record<string, unknown> }[]>(daemon, ['audit', 'list', '--limit', '1000']);
    const grants = entries.filter((entry) => entry.action === 'agent-grant');
    assert.equal(grants.length, 2);
    assert.ok(grants.every((entry) => entry.subject === 'shop' && entry.client === 'cli'));
    const revokes = entries.filter((entry) => entry.action === 'agent-revoke');
    assert.deepEqual(revokes.map((entry) => entry.detail), [{ grants: [grant.id], agentDeployProjects: true }]);
  });
});

describe('agent permissions: zavhoz_exec_with_secrets', () => {
  let keyring: KeyringSession;
  let daemon: TestDaemon;
  let plain: McpSession;
  let asking: McpSession;
  let folder: string;
  /** What the "human" answers to the MCP client's elicitation. */
  let decision: 'accept' | 'decline' = 'decline';
  const asked: string[] = [];
  const canary = `canary-${crypto.randomBytes(12).toString('hex')}+/=&?`;
  const globalCanary = `global-${crypto.randomBytes(12).toString('hex')}`;
  const forms = [canary, Buffer.from(canary).toString('base64'), encodeURIComponent(canary)];
  let command: string[];

  before(async () => {
    keyring = await startKeyring();
    daemon = await startTestDaemon({ env: keyring.env });
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    await cliJson(daemon, ['config', 'set', 'syncIntervalSeconds', '0']);
    await cliJson(daemon, ['secret', 'set', 'API_TOKEN', '--type', 'token', '--project', 'shop'], canary);
    await cliJson(daemon, ['secret', 'set', 'GLOBAL_TOKEN', '--type', 'token'], globalCanary);
    // A personal machine the agent must not learn the address of, even from a command's output.
    await cliJson(daemon, ['server', 'add', 'personal_laptop', '--host', '127.0.0.1', '--ssh-port', '1']);
    await cliJson(daemon, ['server', 'ghost', 'personal_laptop']);
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-agent-exec-'));
    // Proves it ran (marker), what it got (the value's SHA-256), and prints the value in every form, split too.
    fs.writeFileSync(
      path.join(folder, 'print.mjs'),
      [
        "import crypto from 'node:crypto';",
        "import fs from 'node:fs';",
        "const value = process.env.API_TOKEN ?? '';",
        "fs.writeFileSync('ran.marker', 'yes');",
        "fs.writeFileSync('sha.txt', crypto.createHash('sha256').update(value).digest('hex'));",
        "fs.writeFileSync('global.txt', String(process.env.GLOBAL_TOKEN === undefined));",
        'console.log(`verbatim ${value}`);',
        "console.log(`base64 ${Buffer.from(value).toString('base64')}`);",
        'console.error(`url ${encodeURIComponent(value)}`);',
        "process.stdout.write(`split ${value.slice(0, 9)}`);",
        "await new Promise((resolve) => setTimeout(resolve, 50));",
        "process.stdout.write(`${value.slice(9)} end\\n`);",
        "console.log('database at 127.0.0.1:5432');",
        'process.exit(3);',
      ].join('\n'),
    );
    command = [process.execPath, 'print.mjs'];
    plain = await startMcp(daemon, folder);
    const client = new Client({ name: 'zavhoz-agent-test-elicitation', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return { action: decision };
    });
    asking = await startMcp(daemon, folder, { client });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await asking?.close();
    await plain?.close();
    await daemon?.dispose();
    await keyring?.stop();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  const ran = (): boolean => fs.existsSync(path.join(folder, 'ran.marker'));

  test('a new command line over an MCP client that cannot ask is refused with the command that approves it, and never runs', async () => {
    const refused = await plain.call('zavhoz_exec_with_secrets', { project: 'shop', command });
    assert.equal(refused.isError, true);
    assert.match(refused.text, /a human must approve each one/);
    assert.ok(refused.text.includes(`zavhoz agent commands approve --project shop -- ${command.join(' ')}`), refused.text);
    assert.equal(ran(), false, 'the command did not run');
  });

  test('with elicitation: declined, it never runs; accepted, it runs with the value and the answer holds no form of it', async () => {
    decision = 'decline';
    const declined = await asking.call('zavhoz_exec_with_secrets', { project: 'shop', command });
    assert.equal(declined.isError, true);
    assert.match(declined.text, /the human declined/);
    assert.equal(ran(), false, 'a declined command did not run');
    assert.match(asked[0] ?? '', /An agent asks to run `.*print\.mjs` in .* with the secrets of project shop in its environment \(API_TOKEN\)/);

    decision = 'accept';
    const answer = await asking.call('zavhoz_exec_with_secrets', { project: 'shop', command });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(ran(), true);
    assert.equal(fs.readFileSync(path.join(folder, 'sha.txt'), 'utf8'), crypto.createHash('sha256').update(canary).digest('hex'), 'the child got the value');
    assert.equal(fs.readFileSync(path.join(folder, 'global.txt'), 'utf8'), 'true', 'global secrets are not given');
    assert.equal(field(answer.text, 'status'), 'exit 3');
    assert.equal(field(answer.text, 'secrets given'), 'API_TOKEN');
    assert.match(answer.text, /^verbatim \[masked:API_TOKEN\]$/m);
    assert.match(answer.text, /^base64 \[masked:API_TOKEN\]$/m);
    assert.match(answer.text, /^url \[masked:API_TOKEN\]$/m);
    assert.match(answer.text, /^split \[masked:API_TOKEN\] end$/m);
    for (const form of forms) assert.ok(!answer.text.includes(form), `no form of the value: ${answer.text}`);
    assert.ok(!answer.text.includes('127.0.0.1'), `no host address: ${answer.text}`);

    const approved = await cliJson<{ id: string; command: string[]; approvedBy: string }[]>(daemon, ['agent', 'commands', '--project', 'shop']);
    assert.deepEqual(approved.map((entry) => [entry.command, entry.approvedBy]), [[command, 'agent (mcp-elicitation)']]);
    // Remembered: the client that cannot ask now runs it too, without a question.
    fs.rmSync(path.join(folder, 'ran.marker'));
    const again = await plain.call('zavhoz_exec_with_secrets', { project: 'shop', command });
    assert.equal(field(again.text, 'status'), 'exit 3', again.text);
    assert.equal(ran(), true);
    assert.equal(asked.length, 2, 'nobody was asked again');

    await cliJson(daemon, ['agent', 'commands', 'revoke', approved[0]?.id ?? '']);
    fs.rmSync(path.join(folder, 'ran.marker'));
    const revoked = await plain.call('zavhoz_exec_with_secrets', { project: 'shop', command });
    assert.equal(revoked.isError, true);
    assert.equal(ran(), false, 'a revoked command line does not run');
  });

  test('zavhoz agent commands approve lets a command line run; a timeout stops it; a missing program says so in one line', async () => {
    const sleeper = [process.execPath, '-e', 'setTimeout(() => {}, 60000)'];
    const approve = async (line: readonly string[]): Promise<{ id: string }> => {
      const result = await daemon.cli(['agent', 'commands', 'approve', '--project', 'shop', '--json', '--', ...line]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as { id: string };
    };
    const approved = await approve(sleeper);
    assert.match(approved.id, /^cmd_[a-z2-7]{10}$/);
    const stopped = await plain.call('zavhoz_exec_with_secrets', { project: 'shop', command: sleeper, timeoutSeconds: 1 });
    assert.equal(field(stopped.text, 'status'), 'stopped after 1 s (timeout)', stopped.text);

    // A call the client cancels stops the command: the request's cancellation reaches the daemon, which ends it.
    const waiter = [process.execPath, '-e', "require('node:fs').writeFileSync('waiter.pid', String(process.pid)); setTimeout(() => {}, 60000)"];
    await approve(waiter);
    const controller = new AbortController();
    const cancelled = plain.client.callTool({ name: 'zavhoz_exec_with_secrets', arguments: { project: 'shop', command: waiter } }, undefined, { signal: controller.signal });
    const pid = await waitUntil('the command to start', () => {
      const text = fs.readFileSync(path.join(folder, 'waiter.pid'), { encoding: 'utf8', flag: 'a+' });
      return text === '' ? undefined : Number(text);
    }, 20_000);
    controller.abort();
    await assert.rejects(cancelled);
    await waitUntil('the cancelled command to end', () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 20_000);

    // A long output: the agent gets the last 200 lines, told how many came before.
    const chatty = [process.execPath, '-e', 'for (let i = 1; i <= 1000; i++) console.log(`line ${i}`)'];
    await approve(chatty);
    const long = await plain.call('zavhoz_exec_with_secrets', { project: 'shop', command: chatty });
    assert.equal(field(long.text, 'status'), 'exit 0', long.text);
    assert.equal(field(long.text, 'output'), 'last lines (800 earlier lines left out), secrets masked');
    assert.match(long.text, /\nline 801\n[\s\S]*\nline 1000$/);
    assert.doesNotMatch(long.text, /^line 800$/m);

    const missing = ['zavhoz-no-such-program', '--version'];
    await approve(missing);
    const absent = await plain.call('zavhoz_exec_with_secrets', { project: 'shop', command: missing });
    assert.equal(field(absent.text, 'status'), 'did not start: zavhoz-no-such-program: command not found (no such program on the PATH or in the folder)');
  });

  test('a daemon that stops ends the commands agents started', async () => {
    const waiter = [process.execPath, '-e', "require('node:fs').writeFileSync('stopper.pid', String(process.pid)); setTimeout(() => {}, 60000)"];
    const result = await daemon.cli(['agent', 'commands', 'approve', '--project', 'shop', '--json', '--', ...waiter]);
    assert.equal(result.code, 0, result.stderr);
    const running = plain.call('zavhoz_exec_with_secrets', { project: 'shop', command: waiter }).catch(() => undefined);
    const pid = await waitUntil('the command to start', () => {
      const text = fs.readFileSync(path.join(folder, 'stopper.pid'), { encoding: 'utf8', flag: 'a+' });
      return text === '' ? undefined : Number(text);
    }, 20_000);
    await daemon.stop();
    await waitUntil('the command to end with the daemon', () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 20_000);
    await running;
    await daemon.start();
  });

  test('read-only agents cannot run commands; the audit log has the runs by handle; no log holds the value', async () => {
    await cliJson(daemon, ['config', 'set', 'agentMode', 'read-only']);
    const refused = await plain.call('zavhoz_exec_with_secrets', { project: 'shop', command });
    assert.match(refused.text, /needs agent mode "operate"/);
    await cliJson(daemon, ['config', 'set', 'agentMode', 'deploy']);

    const audit = await daemon.cli(['audit', 'list', '--limit', '1000', '--json']);
    const entries = JSON.parse(audit.stdout) as { action: string; subject: string; detail: Record<string, unknown> }[];
    const runs = entries.filter((entry) => entry.action === 'agent-exec' && entry.subject === 'shop');
    assert.ok(runs.length >= 3, `runs audited: ${runs.length}`);
    assert.ok(runs.every((entry) => Array.isArray(entry.detail.handles) && entry.detail.handles.length === 1));
    // And the vault's own record of each loan, by handle.
    const handle = String((runs[0]?.detail.handles as string[] | undefined)?.[0]);
    assert.ok(entries.some((entry) => entry.action === 'agent-exec' && entry.subject === handle), 'the vault recorded the loan of the handle');
    const places: [string, string][] = [
      ['the audit log', audit.stdout],
      ['the daemon log', fs.readFileSync(dataPaths(daemon.home).log, 'utf8')],
      ['the MCP servers\' stderr', plain.stderr() + asking.stderr()],
      ['the tool answers', [...plain.answers, ...asking.answers].join('\n')],
    ];
    for (const [where, text] of places) {
      for (const [index, form] of [...forms, globalCanary].entries()) assert.ok(!text.includes(form), `form ${index} of a value is in ${where}`);
    }
  });
});
