/**
 * `zavhoz server upload` and `server fetch` end to end: a real daemon, the real vault on a private keychain and a
 * real sshd (OpenSSH's internal-sftp) on loopback. The "server" is this machine seen through SSH, so the test reads
 * what landed on it from the file system directly.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditRecord } from '../../daemon/audit/auditLog.js';
import type { ServerFileTransfer, ServerInfo } from '../../daemon/protocol/servers.js';
import { cliJson, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function modeOf(file: string): string {
  return `0${(fs.statSync(file).mode & 0o777).toString(8)}`;
}

/** Files in a folder whose names say a copy left its temporary file behind. */
function leftovers(folder: string): string[] {
  return fs.readdirSync(folder).filter((name) => name.includes('.zavhoz-'));
}

describe('server upload and fetch over SFTP against a real sshd', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  /** Stands for this machine's files. */
  let local: string;
  /** Stands for the server's files (the same machine, reached through SSH). */
  let remote: string;
  const server = 'files_host';

  before(async () => {
    keyring = await startKeyring();
    sshd = await startSshd();
    daemon = await startTestDaemon({ env: keyring.env });
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    const key = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'FILES_SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    await cliJson(daemon, ['server', 'add', server, '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key.handle]);
    const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', server]);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? '');
    local = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-files-local-'));
    remote = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-files-remote-'));
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await daemon?.dispose();
    await sshd?.stop();
    await keyring?.stop();
    for (const folder of [local, remote]) if (folder) fs.rmSync(folder, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('upload puts the file on the server with the given mode, replacing the old one atomically; fetch brings back the same bytes', async () => {
    const source = path.join(local, 'app.env');
    fs.writeFileSync(source, 'LOG_LEVEL=debug\nGREETING="hello world"\n', { mode: 0o644 });
    const target = path.join(remote, 'app.env');
    fs.writeFileSync(target, 'the old version\n', { mode: 0o600 });

    const uploaded = await cliJson<ServerFileTransfer>(daemon, ['server', 'upload', server, source, target, '--mode', '0640']);
    assert.deepEqual(uploaded, { server, local: source, remote: target, bytes: fs.statSync(source).size, mode: '0640' });
    assert.equal(fs.readFileSync(target, 'utf8'), fs.readFileSync(source, 'utf8'));
    assert.equal(modeOf(target), '0640');
    assert.deepEqual(leftovers(remote), []);

    const back = path.join(local, 'fetched.env');
    const fetched = await cliJson<ServerFileTransfer>(daemon, ['server', 'fetch', server, target, back]);
    assert.equal(fetched.local, back);
    assert.equal(sha256(back), sha256(source));
    assert.equal(modeOf(back), '0640', "the fetched file keeps the server file's permissions");
    assert.deepEqual(leftovers(local), []);
  });

  test('without --mode the local bits are kept; a folder as destination gets the file under its own name', async () => {
    const source = path.join(local, 'id_deploy');
    fs.writeFileSync(source, 'not really a key\n', { mode: 0o600 });
    const uploaded = await cliJson<ServerFileTransfer>(daemon, ['server', 'upload', server, source, remote]);
    assert.equal(uploaded.remote, path.join(remote, 'id_deploy'));
    assert.equal(modeOf(path.join(remote, 'id_deploy')), '0600');

    const folder = fs.mkdtempSync(path.join(local, 'into-'));
    const fetched = await cliJson<ServerFileTransfer>(daemon, ['server', 'fetch', server, path.join(remote, 'id_deploy'), folder]);
    assert.equal(fetched.local, path.join(folder, 'id_deploy'));
    assert.equal(fs.readFileSync(fetched.local, 'utf8'), 'not really a key\n');
  });

  test('a file of many MiB goes both ways byte for byte, streamed', async () => {
    const source = path.join(local, 'big.bin');
    const chunk = crypto.randomBytes(1024 * 1024);
    const out = fs.openSync(source, 'w');
    for (let index = 0; index < 24; index++) fs.writeSync(out, Buffer.concat([chunk, Buffer.from([index])]));
    fs.closeSync(out);
    const target = path.join(remote, 'big.bin');
    const uploaded = await cliJson<ServerFileTransfer>(daemon, ['server', 'upload', server, source, target]);
    assert.equal(uploaded.bytes, fs.statSync(source).size);
    assert.equal(sha256(target), sha256(source));
    const back = path.join(local, 'big-back.bin');
    await cliJson<ServerFileTransfer>(daemon, ['server', 'fetch', server, target, back]);
    assert.equal(sha256(back), sha256(source));
  });

  test('errors say what is wrong: no such local or remote file, a missing remote folder, a relative remote path', async () => {
    const missingLocal = await daemon.cli(['server', 'upload', server, path.join(local, 'nope.txt'), path.join(remote, 'nope.txt')]);
    assert.equal(missingLocal.code, 1);
    assert.match(missingLocal.stderr, /No such file or folder .*nope\.txt on this machine/);

    const source = path.join(local, 'small.txt');
    fs.writeFileSync(source, 'small\n');
    const missingFolder = await daemon.cli(['server', 'upload', server, source, path.join(remote, 'no-such-folder', 'small.txt')]);
    assert.equal(missingFolder.code, 1);
    assert.match(missingFolder.stderr, new RegExp(`No such file or folder .*no-such-folder on ${server}`));

    const missingRemote = await daemon.cli(['server', 'fetch', server, path.join(remote, 'absent.txt'), path.join(local, 'absent.txt')]);
    assert.equal(missingRemote.code, 1);
    assert.match(missingRemote.stderr, new RegExp(`No such file or folder .*absent\\.txt on ${server}`));
    assert.equal(fs.existsSync(path.join(local, 'absent.txt')), false);
    assert.deepEqual(leftovers(local), []);

    const relative = await daemon.cli(['server', 'upload', server, source, 'relative/small.txt']);
    assert.equal(relative.code, 2);
    assert.match(relative.stderr, /REMOTE must be an absolute path/);

    const badMode = await daemon.cli(['server', 'upload', server, source, path.join(remote, 'small.txt'), '--mode', '999']);
    assert.equal(badMode.code, 2);
    assert.match(badMode.stderr, /--mode must be octal/);

    const aFolder = await daemon.cli(['server', 'fetch', server, remote, path.join(local, 'x')]);
    assert.equal(aFolder.code, 1);
    assert.match(aFolder.stderr, /is a folder, not a file/);

    if (process.getuid?.() !== 0) {
      // Only meaningful for a non-root SSH user: root may write anywhere.
      const denied = await daemon.cli(['server', 'upload', server, source, '/etc/zavhoz-denied.txt']);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /Permission denied/);
    }
  });

  test('every copy is audited with its paths and size, never its contents', async () => {
    const source = path.join(local, 'audited.txt');
    const content = `canary-${crypto.randomBytes(8).toString('hex')}`;
    fs.writeFileSync(source, content);
    const target = path.join(remote, 'audited.txt');
    await cliJson(daemon, ['server', 'upload', server, source, target, '--mode', '600']);
    await daemon.cli(['server', 'fetch', server, path.join(remote, 'absent-2.txt'), path.join(local, 'absent-2.txt')]);
    const entries = await cliJson<AuditRecord[]>(daemon, ['audit', 'list', '--subject', `server:${server}`]);
    const upload = entries.find((entry) => entry.action === 'server-upload' && entry.detail.remote === target);
    assert.ok(upload, JSON.stringify(entries));
    assert.deepEqual(upload.detail, { local: source, remote: target, bytes: content.length, mode: '0600', outcome: 'done' });
    const failed = entries.find((entry) => entry.action === 'server-fetch' && entry.detail.outcome === 'failed');
    assert.ok(failed, 'a failed fetch is on record too');
    assert.doesNotMatch(JSON.stringify(entries), new RegExp(content));
  });
});
