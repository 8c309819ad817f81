/**
 * `zavhoz server ssh`: the system's own ssh reaches a managed server through a short-lived ssh-agent that holds its
 * vault key (loaded through ssh-add's stdin), with nothing left behind when the session ends; `--print-config` prints
 * the Host block; and removing a server takes its alias, pinned host key and agent key away. A real daemon, a real
 * keychain, a real sshd, OpenSSH's own ssh, ssh-agent and ssh-add.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type RemoteHandedOff, RemoteHandoff } from '../../daemon/protocol/remote.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { startTestDaemon, type TestDaemon } from '../harness/daemon.js';
import { startKeyring, type KeyringSession } from '../harness/keyring.js';
import { hasExited, terminateTree, waitUntil } from '../harness/processes.js';
import { startSshd, type SshdServer } from '../harness/sshd.js';
import { filesHolding, keyBody } from '../harness/leaks.js';

const execFileAsync = promisify(execFile);

/** PIDs of ssh-agent processes whose command line names a socket below `folder` (Linux /proc). */
function agentsBelow(folder: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parts = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (parts.some((part) => path.basename(part) === 'ssh-agent') && parts.some((part) => part.startsWith(folder))) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('zavhoz server ssh: the system ssh through a short-lived agent, and removed servers leave nothing behind', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  let scratch: string;
  let tmp: string;
  let agent: { socket: string; child: ChildProcess };

  /** The CLI with a private TMPDIR (where a session's agent lives) and no agent of the test runner's. */
  function cli(args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<TestDaemon['cli']> {
    return daemon.cli(args, { env: { HOME: keyring.home, TMPDIR: tmp, SSH_AUTH_SOCK: undefined, ...env } });
  }

  async function agentKeys(socket: string): Promise<string> {
    try {
      const { stdout } = await execFileAsync('ssh-add', ['-l'], { env: { PATH: process.env['PATH'], SSH_AUTH_SOCK: socket } });
      return stdout;
    } catch (error) {
      // ssh-add -l exits 1 with "The agent has no identities."
      return (error as { stdout?: string }).stdout ?? '';
    }
  }

  before(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-server-ssh-'));
    tmp = path.join(scratch, 'tmp');
    fs.mkdirSync(tmp, { mode: 0o700 });
    keyring = await startKeyring();
    sshd = await startSshd();
    const socket = path.join(scratch, 'agent.sock');
    const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore', detached: true });
    agent = { socket, child };
    await waitUntil('the test ssh-agent opens its socket', () => (fs.existsSync(socket) ? true : hasExited(child) ? assert.fail('ssh-agent exited') : undefined));
    daemon = await startTestDaemon({ env: keyring.env });
    const run = async (args: string[], input?: string): Promise<string> => {
      const result = await daemon.cli(args, input === undefined ? {} : { input });
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    };
    await run(['config', 'set', 'healthCheckIntervalSeconds', '0']);
    const key = await run(['secret', 'set', 'BOX_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    const where = ['--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key];
    for (const server of ['box', 'gone', 'ghostly']) {
      await run(['server', 'add', server, ...where]);
      const checked = JSON.parse(await run(['server', 'check', server, '--json'])) as ServerInfo;
      assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'check failed');
    }
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await daemon?.dispose();
    if (agent) await terminateTree(agent.child);
    await sshd?.stop();
    await keyring?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('a command runs on the server through the alias; the session agent, its folder and the key are gone afterwards', async () => {
    const result = await cli(['server', 'ssh', 'box', '--', 'id', '-un']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), sshd.user);
    // The remote command's exit code comes back (its words are joined into one command line, as ssh does).
    const failed = await cli(['server', 'ssh', 'box', '--', 'exit 7']);
    assert.equal(failed.code, 7, failed.stderr);
    assert.deepEqual(fs.readdirSync(tmp), [], 'the session agent folder is removed');
    assert.equal(fs.existsSync(path.join(daemon.home, 'ssh', 'hosts', 'box.conf')), false, "a session leaves no alias naming its dead agent in Zavhoz's SSH config");
    await waitUntil('the session agents end', () => (agentsBelow(tmp).length === 0 ? true : undefined));
    assert.deepEqual(filesHolding(daemon.home, keyBody(sshd.clientKey.privateKeyPem)), []);
    assert.deepEqual(filesHolding(keyring.home, keyBody(sshd.clientKey.privateKeyPem)), []);
    const audit = JSON.parse((await cli(['audit', 'list', '--json'])).stdout) as { action: string; subject: string; detail?: { agent?: string } }[];
    assert.ok(audit.filter((entry) => entry.action === 'ssh-handoff' && entry.subject === 'box').length >= 2);
  });

  test('--print-config loads the key into $SSH_AUTH_SOCK and prints a Host block ssh can use as it is', async () => {
    const result = await cli(['server', 'ssh', 'box', '--print-config', '--lifetime', '600'], { SSH_AUTH_SOCK: agent.socket });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^# Written by Zavhoz/);
    assert.match(result.stdout, /^Host zavhoz-box$/m);
    assert.match(result.stdout, new RegExp(`^  IdentityAgent "${agent.socket}"$`, 'm'));
    assert.match(result.stderr, /in the ssh-agent at .* until /);
    const config = path.join(scratch, 'printed.conf');
    fs.writeFileSync(config, result.stdout);
    const { stdout } = await execFileAsync('ssh', ['-F', config, '-o', 'BatchMode=yes', 'zavhoz-box', 'echo', 'printed-works'], { env: { PATH: process.env['PATH'], HOME: keyring.home, LANG: 'C' }, timeout: 60_000 });
    assert.equal(stdout.trim(), 'printed-works');
    const json = JSON.parse((await cli(['server', 'ssh', 'box', '--print-config', '--json'], { SSH_AUTH_SOCK: agent.socket })).stdout) as RemoteHandedOff & { hostBlock: string };
    assert.equal(json.alias, 'zavhoz-box');
    assert.match(json.hostBlock, /^Host zavhoz-box$/m);
    const usage = await cli(['server', 'ssh', 'box', '--print-config', '--', 'id']);
    assert.equal(usage.code, 2);
    const short = await cli(['server', 'ssh', 'box', '--lifetime', '5']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--lifetime must be between 60 and/);
  });

  test("a session leaves the alias Zavhoz's SSH config had: a later plain ssh still goes through the agent it named", async () => {
    const printed = await cli(['server', 'ssh', 'box', '--print-config'], { SSH_AUTH_SOCK: agent.socket });
    assert.equal(printed.code, 0, printed.stderr);
    const block = path.join(daemon.home, 'ssh', 'hosts', 'box.conf');
    const before = fs.readFileSync(block, 'utf8');
    assert.match(before, new RegExp(`^  IdentityAgent "${agent.socket}"$`, 'm'));
    const session = await cli(['server', 'ssh', 'box', '--', 'echo', 'in-session']);
    assert.equal(session.code, 0, session.stderr);
    assert.equal(session.stdout.trim(), 'in-session');
    assert.deepEqual(fs.readdirSync(tmp), [], 'the session folder, with its Host block, is removed');
    assert.equal(fs.readFileSync(block, 'utf8'), before, 'the alias still names the agent it named before the session');
    const { stdout } = await execFileAsync('ssh', ['-F', path.join(daemon.home, 'ssh', 'config'), '-o', 'BatchMode=yes', 'zavhoz-box', 'echo', 'after-session'], { env: { PATH: process.env['PATH'], HOME: keyring.home, LANG: 'C' }, timeout: 60_000 });
    assert.equal(stdout.trim(), 'after-session');
  });

  test("removing a server takes its Host block, pinned host key, public key and Include away, and unloads its key from the agent", async () => {
    const printed = await cli(['server', 'ssh', 'gone', '--print-config'], { SSH_AUTH_SOCK: agent.socket });
    assert.equal(printed.code, 0, printed.stderr);
    const folder = path.join(daemon.home, 'ssh');
    const files = [path.join(folder, 'hosts', 'gone.conf'), path.join(folder, 'keys', 'gone.pub'), path.join(folder, 'known_hosts', 'gone')];
    for (const file of files) assert.ok(fs.existsSync(file), file);
    assert.match(fs.readFileSync(path.join(folder, 'config'), 'utf8'), /hosts\/gone\.conf/);
    const { stdout: fingerprint } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(folder, 'keys', 'gone.pub')]);
    const keyId = fingerprint.split(' ')[1] ?? '?';
    assert.ok((await agentKeys(agent.socket)).includes(keyId));

    const removed = await cli(['server', 'remove', 'gone']);
    assert.equal(removed.code, 0, removed.stderr);
    for (const file of files) assert.equal(fs.existsSync(file), false, `${file} is left behind`);
    const config = fs.readFileSync(path.join(folder, 'config'), 'utf8');
    assert.doesNotMatch(config, /gone/);
    assert.match(config, /hosts\/box\.conf/, 'the other server stays');
    // The same public key belongs to box too (one test key): the agent no longer holds it after gone's removal.
    assert.ok(!(await agentKeys(agent.socket)).includes(keyId), 'the removed server key is still in the agent');
    const refused = await cli(['server', 'ssh', 'gone', '--', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /gone/);
  });

  test('a server made a ghost loses its alias, pinned host key and public key, and its key leaves the agent, without a restart', async () => {
    const printed = await cli(['server', 'ssh', 'ghostly', '--print-config'], { SSH_AUTH_SOCK: agent.socket });
    assert.equal(printed.code, 0, printed.stderr);
    const folder = path.join(daemon.home, 'ssh');
    const files = [path.join(folder, 'hosts', 'ghostly.conf'), path.join(folder, 'keys', 'ghostly.pub'), path.join(folder, 'known_hosts', 'ghostly')];
    for (const file of files) assert.ok(fs.existsSync(file), file);
    const { stdout: fingerprint } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(folder, 'keys', 'ghostly.pub')]);
    const keyId = fingerprint.split(' ')[1] ?? '?';
    assert.ok((await agentKeys(agent.socket)).includes(keyId));

    const ghosted = await cli(['server', 'ghost', 'ghostly']);
    assert.equal(ghosted.code, 0, ghosted.stderr);
    // The hand-off follows the servers' change notice: wait for it rather than for a time.
    // The daemon deletes the files, then rewrites the Include list: both are waited for, as another process sees each.
    await waitUntil('the ghost server hand-off files and Include go', () =>
      files.every((file) => !fs.existsSync(file)) && !fs.readFileSync(path.join(folder, 'config'), 'utf8').includes('ghostly') ? true : undefined,
    );
    await waitUntil('the ghost server key leaves the agent', async () => (!(await agentKeys(agent.socket)).includes(keyId) ? true : undefined));
    const refused = await cli(['server', 'ssh', 'ghostly', '--', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /ghost/);
  });

  test("with Remote-SSH's remote.SSH.configFile, that file gets the Include line (not ~/.ssh/config), and the alias works from it", async () => {
    const custom = path.join(scratch, 'remote ssh', 'config');
    fs.mkdirSync(path.dirname(custom), { mode: 0o755 });
    fs.writeFileSync(custom, 'Host other\n  User nobody\n', { mode: 0o640 });
    const client = await daemon.connect('vscode');
    try {
      const asked = await client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket, userConfigFile: custom });
      assert.equal(asked.includedInUserConfig, false, 'nothing is added without consent');
      assert.equal(asked.userConfigFile, custom);
      const handed = await client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket, userConfigFile: custom, includeInUserConfig: true });
      assert.equal(handed.includedInUserConfig, true);
      const text = fs.readFileSync(custom, 'utf8');
      assert.ok(text.includes(`Include "${handed.configFile}"`), text);
      assert.ok(text.endsWith('Host other\n  User nobody\n'));
      assert.equal(fs.statSync(custom).mode & 0o777, 0o640);
      assert.equal(fs.statSync(path.dirname(custom)).mode & 0o777, 0o755, "the person's folder keeps its mode");
      assert.equal(fs.existsSync(path.join(keyring.home, '.ssh', 'config')), false, '~/.ssh/config is not touched');
      const { stdout } = await execFileAsync('ssh', ['-F', custom, '-o', 'BatchMode=yes', 'zavhoz-box', 'echo', 'custom-config'], { env: { PATH: process.env['PATH'], HOME: keyring.home, LANG: 'C' }, timeout: 60_000 });
      assert.equal(stdout.trim(), 'custom-config');
      await assert.rejects(client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket, userConfigFile: 'relative/config' }));
    } finally {
      client.close();
    }
  });
});
