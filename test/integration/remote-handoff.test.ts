/**
 * The Remote-SSH hand-off (`remote/handoff`): a real daemon with the real vault on a private keychain loads a server's
 * key into a real ssh-agent through ssh-add's stdin with a lifetime, writes the host alias, and the system's own `ssh`
 * then logs in to a real sshd through that alias and agent. The key is never in a file, an answer or a log.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type DaemonClient, isResponseError } from '../../daemon/client/client.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { RemoteHandoff } from '../../daemon/protocol/remote.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { cliJson, cliOk, startTestDaemon, type TestDaemon } from '../harness/daemon.js';
import { startKeyring, type KeyringSession } from '../harness/keyring.js';
import { hasExited, terminateTree, waitUntil } from '../harness/processes.js';
import { startSshd, type SshdServer } from '../harness/sshd.js';
import { filesHolding, keyBody } from '../harness/leaks.js';

const execFileAsync = promisify(execFile);

/** A real ssh-agent in debug mode (its log says each key's lifetime), stopped by its PID. */
interface TestAgent {
  readonly socket: string;
  log(): string;
  stop(): Promise<void>;
}

async function startAgent(folder: string): Promise<TestAgent> {
  const socket = path.join(folder, 'agent.sock');
  let log = '';
  const child: ChildProcess = spawn('ssh-agent', ['-d', '-a', socket], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  await waitUntil('the test ssh-agent opens its socket', () => (fs.existsSync(socket) ? true : hasExited(child) ? assert.fail(`ssh-agent exited: ${log}`) : undefined));
  return { socket, log: () => log, stop: () => terminateTree(child) };
}

describe('the Remote-SSH hand-off: a vault key into an ssh-agent, an alias the system ssh uses', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  let client: DaemonClient;
  let agent: TestAgent;
  let scratch: string;
  let lockedKey: { privateKey: string; publicKey: string };

  /** Runs the system's ssh with a config file and no agent of its own in the environment. */
  async function ssh(config: string, alias: string, command: string): Promise<string> {
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: keyring.home, LANG: 'C' };
    const { stdout } = await execFileAsync('ssh', ['-F', config, '-o', 'BatchMode=yes', alias, command], { env, timeout: 60_000 });
    return stdout;
  }

  before(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-handoff-'));
    // A second key, with a passphrase: ssh-add gets the passphrase through its askpass helper, never argv.
    const lockedPath = path.join(scratch, 'locked_key');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-C', 'locked', '-f', lockedPath]);
    lockedKey = { privateKey: fs.readFileSync(lockedPath, 'utf8'), publicKey: fs.readFileSync(`${lockedPath}.pub`, 'utf8') };
    fs.writeFileSync(path.join(scratch, 'passphrase'), 'correct horse', { mode: 0o600 });
    keyring = await startKeyring();
    sshd = await startSshd({ authorizedKeys: [lockedKey.publicKey] });
    agent = await startAgent(scratch);
    daemon = await startTestDaemon({ env: keyring.env });
    await cliOk(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    const { handle: key } = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'BOX_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    const { handle: locked } = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'LOCKED_KEY', '--type', 'private_key', '--passphrase-file', path.join(scratch, 'passphrase')], lockedKey.privateKey);
    const where = ['--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user];
    await cliOk(daemon, ['server', 'add', 'box', ...where, '--ssh-key-secret', key]);
    await cliOk(daemon, ['server', 'add', 'vault-box', ...where, '--ssh-key-secret', locked]);
    for (const server of ['box', 'vault-box']) {
      const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', server]);
      assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'check failed');
    }
    client = await daemon.connect('vscode');
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    client?.close();
    await daemon?.dispose();
    await agent?.stop();
    await sshd?.stop();
    await keyring?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('the key goes into the given agent with its lifetime, and ssh logs in through the alias with the pinned host key', async () => {
    const handed = await client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket, lifetimeSeconds: 900 });
    assert.equal(handed.alias, 'zavhoz-box');
    assert.equal(handed.agentSocket, agent.socket);
    assert.equal(handed.includedInUserConfig, false);
    assert.ok(Date.parse(handed.expiresAt) > Date.now() + 800_000);
    const { stdout: fingerprint } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', sshd.clientKey.path]);
    const { stdout: listed } = await execFileAsync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket } });
    assert.ok(listed.includes(fingerprint.split(' ')[1] ?? '?'), `the agent does not hold the key: ${listed}`);
    await waitUntil('the agent logs the key it was given with its lifetime', () => (/add \S+ SHA256:\S+ .*\(life: 900\)/.test(agent.log()) ? true : undefined));
    assert.equal((await ssh(handed.hostConfig, handed.alias, 'echo handed-off-$((6*7))')).trim(), 'handed-off-42');
    const known = fs.readFileSync(fs.readdirSync(path.join(daemon.home, 'ssh', 'known_hosts')).map((name) => path.join(daemon.home, 'ssh', 'known_hosts', name))[0] ?? '', 'utf8');
    assert.match(known, /^zavhoz-box ssh-ed25519 AAAA/);
  });

  test("with consent, ~/.ssh/config includes Zavhoz's config once, and the alias works from it", async () => {
    const userConfig = path.join(keyring.home, '.ssh', 'config');
    fs.mkdirSync(path.dirname(userConfig), { recursive: true, mode: 0o700 });
    fs.writeFileSync(userConfig, 'Host elsewhere\n  User nobody\n', { mode: 0o644 });
    const first = await client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket, includeInUserConfig: true });
    const again = await client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket, includeInUserConfig: true });
    assert.equal(first.includedInUserConfig, true);
    assert.equal(again.includedInUserConfig, true);
    const text = fs.readFileSync(userConfig, 'utf8');
    assert.equal(text.split('\n').filter((line) => line.startsWith('Include ')).length, 1);
    assert.ok(text.startsWith('# Added by Zavhoz'), 'the Include must come before any Host block');
    assert.ok(text.endsWith('Host elsewhere\n  User nobody\n'), "the user's own lines stay");
    assert.equal(fs.statSync(userConfig).mode & 0o777, 0o644);
    assert.equal((await ssh(userConfig, 'zavhoz-box', 'echo from-user-config')).trim(), 'from-user-config');
  });

  test('a key with a passphrase is handed off too; without a client agent, the daemon runs its own', async () => {
    const handed = await client.request(RemoteHandoff, { server: 'vault-box', lifetimeSeconds: 120 });
    assert.notEqual(handed.agentSocket, agent.socket);
    assert.equal(path.dirname(handed.agentSocket), path.join(daemon.home, 'ssh'));
    assert.equal((await ssh(handed.hostConfig, handed.alias, 'echo locked-key-works')).trim(), 'locked-key-works');
    // The askpass helper and its passphrase file are gone once ssh-add ended.
    assert.deepEqual(filesHolding(daemon.home, 'correct horse'), []);
  });

  test("`server update` of a handed-off server's port takes its stale alias away and its key out of the agent", async () => {
    const { stdout: fingerprint } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', sshd.clientKey.path]);
    const id = fingerprint.split(' ')[1] ?? '?';
    const agentKeys = async (): Promise<string> => (await execFileAsync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket } }).catch(() => ({ stdout: '' }))).stdout;
    await client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket });
    assert.ok((await agentKeys()).includes(id));
    const block = path.join(daemon.home, 'ssh', 'hosts', 'box.conf');
    await cliOk(daemon, ['server', 'update', 'box', '--ssh-port', String(sshd.port + 1)]);
    // The alias would lead to the old port: the servers' change notice takes it away, and the key it loaded.
    await waitUntil('the stale Host block and its Include go', () => (!fs.existsSync(block) && !fs.readFileSync(path.join(daemon.home, 'ssh', 'config'), 'utf8').includes('/hosts/box.conf') ? true : undefined));
    await waitUntil('the key leaves the agent', async () => (!(await agentKeys()).includes(id) ? true : undefined));
    await cliOk(daemon, ['server', 'update', 'box', '--ssh-port', String(sshd.port)]);
    const again = await client.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket });
    assert.match(fs.readFileSync(again.hostConfig, 'utf8'), new RegExp(`^  Port ${sshd.port}$`, 'm'));
    assert.equal((await ssh(again.hostConfig, again.alias, 'echo handed-off-again')).trim(), 'handed-off-again');
  });

  test('a path that is not an agent, an agent connection and a ghost server get nothing, saying why', async () => {
    const notSocket = path.join(scratch, 'passphrase');
    await assert.rejects(client.request(RemoteHandoff, { server: 'box', agentSocket: notSocket }), (error) => {
      assert.ok(isResponseError(error, ErrorCodes.InvalidInput));
      assert.match(error.message, /not a socket/);
      return true;
    });
    const robot = await daemon.connect('agent');
    try {
      await assert.rejects(robot.request(RemoteHandoff, { server: 'box', agentSocket: agent.socket }), (error) => isResponseError(error, ErrorCodes.Unauthorized));
    } finally {
      robot.close();
    }
    const ghost = await daemon.cli(['config', 'set', 'ghostServers', '["vault-box"]']);
    assert.equal(ghost.code, 0, ghost.stderr);
    // vault-box was handed off above: `config set ghostServers` takes its alias away too (the servers' change notice).
    // The daemon deletes the block, then rewrites the Include list: both are waited for, as another process sees each.
    await waitUntil("the ghost's Host block and its Include go", () =>
      !fs.existsSync(path.join(daemon.home, 'ssh', 'hosts', 'vault-box.conf')) && !fs.readFileSync(path.join(daemon.home, 'ssh', 'config'), 'utf8').includes('vault-box') ? true : undefined,
    );
    await assert.rejects(client.request(RemoteHandoff, { server: 'vault-box', agentSocket: agent.socket }), (error) => {
      assert.ok(isResponseError(error, ErrorCodes.PreconditionFailed));
      assert.match(error.message, /ghost/);
      return true;
    });
  });

  test('no key material in the data folder, the home folder, the logs or the audit; each hand-off is audited', async () => {
    for (const body of [keyBody(sshd.clientKey.privateKeyPem), keyBody(lockedKey.privateKey)]) {
      assert.deepEqual(filesHolding(daemon.home, body), []);
      assert.deepEqual(filesHolding(keyring.home, body), []);
      assert.ok(!agent.log().includes(body));
    }
    const audit = await daemon.cli(['audit', 'list', '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    const entries = JSON.parse(audit.stdout) as { action: string; subject: string }[];
    assert.ok(entries.filter((entry) => entry.action === 'ssh-handoff' && entry.subject === 'box').length >= 3);
    assert.ok(entries.some((entry) => entry.action === 'ssh-handoff' && entry.subject === 'vault-box'));
  });
});
