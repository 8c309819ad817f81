/**
 * What agents may do, over MCP against a real daemon (real vault on a private keychain): the agent mode decides
 * which tools an agent sees and may call, and `zavhoz mcp --read-only` offers read tools only whatever the mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { waitUntil } from '../harness/processes.js';
import { type McpSession, startMcp } from './agent-support.js';
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
    await readOnly?.close();
    await mcp?.close();
    await daemon?.dispose();
    await keyring?.stop();
  });

  test('zavhoz mcp --read-only lists no tool that changes anything, and refuses one that does, saying why', async () => {
    const { tools } = await readOnly.client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name), READ_TOOLS);
    for (const tool of tools) {
      assert.equal(tool.annotations?.readOnlyHint, true, `${tool.name} is read-only`);
      assert.notEqual(tool.annotations?.destructiveHint, true, `${tool.name} destroys nothing`);
    }
    const refused = await readOnly.call('zavhoz_restart_service', { project: 'shop' });
    assert.equal(refused.isError, true);
    assert.match(refused.text, /zavhoz_restart_service needs agent mode "operate", and this MCP server was started with --read-only/);
    assert.match(readOnly.stderr(), /serving 5 tools \(read-only\)/);
  });

  test('the default mode (deploy) keeps every tool; read-only and operate filter the list and refuse calls above them', async () => {
    const all = (await mcp.client.listTools()).tools.map((tool) => tool.name);
    assert.ok(all.includes('zavhoz_deploy') && all.includes('zavhoz_restart_service'), all.join(','));

    await cliJson(daemon, ['config', 'set', 'agentMode', 'read-only']);
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
    await mcp?.close();
    await daemon?.dispose();
    await keyring?.stop();
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
