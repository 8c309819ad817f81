/**
 * Ghost servers (personal machines) never reach automation, not even by name in an error: `zavhoz_allocate`, run as
 * an agent runs it against a real daemon, explains a refused allocation with the managed servers only and counts the
 * ghosts it left out. And a ghost stays a ghost whichever command edits the one ghost list: `config set ghostServers`
 * never quietly drops one that `server ghost` added.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AGENT_CLIENT_NAME, runTool } from '../../daemon/agent/catalogue.js';
import { AgentDaemonLink } from '../../daemon/agent/link.js';
import type { AgentEnvironment } from '../../daemon/agent/tool.js';
import { DaemonClient } from '../../daemon/client/client.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { cliJson, cliOk, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';

describe('allocation: ghost servers are not named to agents', () => {
  let keyring: KeyringSession;
  let daemon: TestDaemon;
  let link: AgentDaemonLink;

  before(async () => {
    keyring = await startKeyring();
    daemon = await startTestDaemon({ env: keyring.env });
    await cliOk(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    // Never checked, so neither can take a project; the laptop is also a ghost.
    await cliOk(daemon, ['server', 'add', 'vps_new', '--host', '127.0.0.1', '--ram-mb', '4096', '--disk-mb', '40960']);
    await cliOk(daemon, ['server', 'add', 'my_laptop', '--host', '127.0.0.1', '--ram-mb', '32768', '--disk-mb', '500000']);
    await cliOk(daemon, ['config', 'set', 'ghostServers', '["my_laptop"]']);
    link = new AgentDaemonLink(() => DaemonClient.connect({ folder: daemon.home, clientName: AGENT_CLIENT_NAME }));
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    link?.close();
    await daemon?.dispose();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('zavhoz_allocate names the managed servers that refused and only counts the ghost one', async () => {
    const environment: AgentEnvironment = { daemon: link, frontEnd: 'mcp', defaults: {} };
    const outcome = await runTool('zavhoz_allocate', { project: 'shop' }, environment, new AbortController().signal);
    assert.equal(outcome.isError, true, outcome.text);
    assert.match(outcome.text, /No server can take project shop .*vps_new: its status is discovered .*zavhoz server check vps_new/);
    assert.match(outcome.text, /1 ghost server\(s\) \(personal machines\) were left out; automation never uses them\./);
    assert.ok(!outcome.text.includes('my_laptop'), outcome.text);

    // The human at the CLI gets the same answer: the ghost stays unnamed there too, `server list --all` shows it.
    const cli = await daemon.cli(['allocate', '--project', 'shop']);
    assert.equal(cli.code, 1);
    assert.ok(!cli.stderr.includes('my_laptop'), cli.stderr);
    assert.match(cli.stderr, /1 ghost server\(s\)/);
  });

  test('config set ghostServers never quietly makes a ghost managed: it says which ghosts the list leaves out and how', async () => {
    const managed = async (handle: string): Promise<boolean> => (await cliJson<ServerInfo>(daemon, ['server', 'show', handle])).managed;
    await cliOk(daemon, ['server', 'add', 'old_desktop', '--host', '127.0.0.1']);
    await cliOk(daemon, ['server', 'ghost', 'old_desktop']);
    assert.deepEqual(await cliJson<string[]>(daemon, ['config', 'get', 'ghostServers']), ['my_laptop', 'old_desktop']);

    // A list typed without old_desktop (say, to add another machine) is refused, and nothing changes.
    const refused = await daemon.cli(['config', 'set', 'ghostServers', '["my_laptop","new_box"]']);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /leaves out old_desktop, which is a ghost now/);
    assert.match(refused.stderr, /make that server managed again, so automation and agents could deploy there/);
    assert.match(refused.stderr, /zavhoz config set ghostServers '\["my_laptop","old_desktop","new_box"\]'/);
    assert.match(refused.stderr, /zavhoz server manage old_desktop/);
    assert.match(refused.stderr, /--drop-ghosts/);
    assert.deepEqual(await cliJson<string[]>(daemon, ['config', 'get', 'ghostServers']), ['my_laptop', 'old_desktop']);
    assert.equal(await managed('old_desktop'), false, 'still a ghost');
    const help = await daemon.cli(['config', 'set', '--help']);
    assert.match(help.stdout, /--drop-ghosts/);

    // The command the error suggests adds the new machine and keeps both ghosts.
    await cliOk(daemon, ['config', 'set', 'ghostServers', '["my_laptop","old_desktop","new_box"]']);
    assert.equal(await managed('old_desktop'), false);
    const environment: AgentEnvironment = { daemon: link, frontEnd: 'mcp', defaults: {} };
    const listed = await runTool('zavhoz_list_managed_servers', {}, environment, new AbortController().signal);
    assert.ok(!listed.text.includes('old_desktop') && !listed.text.includes('my_laptop'), listed.text);

    // Ghosts leave the list only when the user says so: one by one with server manage, or all at once with --drop-ghosts.
    await cliOk(daemon, ['server', 'manage', 'old_desktop']);
    assert.equal(await managed('old_desktop'), true);
    await cliOk(daemon, ['server', 'ghost', 'old_desktop']);
    await cliOk(daemon, ['config', 'set', 'ghostServers', '["my_laptop"]', '--drop-ghosts']);
    assert.deepEqual(await cliJson<string[]>(daemon, ['config', 'get', 'ghostServers']), ['my_laptop']);
    assert.equal(await managed('old_desktop'), true);
    assert.equal(await managed('my_laptop'), false);
  });
});
