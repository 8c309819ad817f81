/**
 * The SSH terminal's daemon side (`shell/*`): a real daemon with the real vault on a private keychain logs in to a
 * real sshd with the vault key and streams an interactive shell to the connection that opened it, and to no other.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DaemonClient, isResponseError } from '../../daemon/client/client.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { ShellClose, ShellOpen, ShellRead, ShellResize, ShellWrite } from '../../daemon/protocol/shell.js';
import { cliJson, cliOk, startTestDaemon, type TestDaemon } from '../harness/daemon.js';
import { startKeyring, type KeyringSession } from '../harness/keyring.js';
import { startSshd, type SshdServer } from '../harness/sshd.js';

/** Reads a shell until its output contains `marker` or it closes; answers everything read. */
async function readUntil(client: DaemonClient, session: string, marker: string | undefined): Promise<{ text: string; closed: boolean; exitCode: number | null }> {
  let text = '';
  for (;;) {
    const output = await client.request(ShellRead, { session });
    text += Buffer.from(output.data, 'base64').toString('utf8');
    if (output.closed) return { text, closed: true, exitCode: output.exitCode };
    if (marker !== undefined && text.includes(marker)) return { text, closed: false, exitCode: null };
  }
}

describe('SSH terminal sessions in the daemon', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  let client: DaemonClient;

  before(async () => {
    keyring = await startKeyring();
    sshd = await startSshd();
    daemon = await startTestDaemon({ env: keyring.env });
    await cliOk(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    const { handle: key } = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'TERMINAL_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    await cliOk(daemon, ['server', 'add', 'box', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key]);
    const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', 'box']);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'check failed');
    await cliOk(daemon, ['server', 'add', 'laptop', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key]);
    await cliOk(daemon, ['config', 'set', 'ghostServers', '["laptop"]']);
    client = await daemon.connect('vscode');
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    client?.close();
    await daemon?.dispose();
    await sshd?.stop();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('a shell runs what is typed, resizes, and reports the exit code when it ends', async () => {
    const opened = await client.request(ShellOpen, { server: 'box', cols: 100, rows: 30 });
    assert.equal(opened.server, 'box');
    assert.equal(opened.user, sshd.user);
    await client.request(ShellResize, { session: opened.session, cols: 132, rows: 40 });
    await client.request(ShellWrite, { session: opened.session, data: 'echo "sum=$((6*7))"; stty size\n' });
    const answer = await readUntil(client, opened.session, '40 132');
    assert.match(answer.text, /sum=42/);
    await client.request(ShellWrite, { session: opened.session, data: 'exit 3\n' });
    const ended = await readUntil(client, opened.session, undefined);
    assert.equal(ended.closed, true);
    assert.equal(ended.exitCode, 3);
  });

  test('another connection can neither read nor type into a shell it did not open', async () => {
    const opened = await client.request(ShellOpen, { server: 'box', cols: 80, rows: 24 });
    const other = await daemon.connect('cli');
    try {
      await assert.rejects(other.request(ShellRead, { session: opened.session }), (error) => isResponseError(error, ErrorCodes.NotFound));
      await assert.rejects(other.request(ShellWrite, { session: opened.session, data: 'id\n' }), (error) => isResponseError(error, ErrorCodes.NotFound));
      await assert.rejects(other.request(ShellClose, { session: opened.session }), (error) => isResponseError(error, ErrorCodes.NotFound));
    } finally {
      other.close();
    }
    await client.request(ShellClose, { session: opened.session });
    const ended = await readUntil(client, opened.session, undefined);
    assert.equal(ended.closed, true);
  });

  test('ghost servers and unknown servers get no shell, with a message saying why', async () => {
    await assert.rejects(client.request(ShellOpen, { server: 'laptop', cols: 80, rows: 24 }), (error) => {
      assert.ok(isResponseError(error, ErrorCodes.PreconditionFailed));
      assert.match(error.message, /ghost/);
      return true;
    });
    await assert.rejects(client.request(ShellOpen, { server: 'nowhere', cols: 80, rows: 24 }), (error) => isResponseError(error, ErrorCodes.NotFound));
  });

  test('the key never appears in what the daemon logged, and opening a shell is in the audit log', async () => {
    const audit = await daemon.cli(['audit', 'list', '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /ssh-terminal/);
    const body = sshd.clientKey.privateKeyPem.split('\n').filter((line) => line && !line.startsWith('-----'))[1] ?? '';
    assert.ok(body.length > 20);
    assert.ok(!audit.stdout.includes(body), 'the audit log holds key material');
    const logged = fs.readdirSync(daemon.home).filter((name) => name.startsWith('daemon.log'));
    assert.ok(logged.length > 0);
    for (const name of logged) {
      const text = fs.readFileSync(path.join(daemon.home, name), 'utf8');
      assert.match(text, /shell opened/);
      assert.ok(!text.includes(body), `${name} holds key material`);
    }
  });
});
