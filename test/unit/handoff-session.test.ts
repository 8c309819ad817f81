/**
 * A session's Host block (`zavhoz server ssh`): written into the session's own private folder with its public key and
 * pinned host key, read back by the real OpenSSH client (`ssh -G`), and refused for a folder others may enter.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { ZavhozError } from '../../daemon/core/errors.js';
import { checkSessionFolder } from '../../daemon/terminal/handoff.js';
import { handedServers, writeSessionHost } from '../../daemon/terminal/sshConfig.js';

const execFileAsync = promisify(execFile);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz session-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test("a session's block names its own files and agent, and Zavhoz's SSH config gets nothing", async () => {
  const session = path.join(root, 'session');
  fs.mkdirSync(session, { mode: 0o700 });
  checkSessionFolder(session);
  const agentSocket = path.join(session, 'agent.sock');
  const hostConfig = writeSessionHost(session, { server: 'box', host: '192.0.2.7', port: 2222, user: 'deploy', keySecret: 'sec_box', agentSocket, publicKey: 'ssh-ed25519 AAAAC3Nza zavhoz:box', hostKey: 'ssh-ed25519 AAAAC3NzaHOST' });
  assert.equal(path.dirname(hostConfig), session);
  const { stdout } = await execFileAsync('ssh', ['-G', '-F', hostConfig, 'zavhoz-box'], { env: { PATH: process.env['PATH'], HOME: root } });
  assert.match(stdout, /^hostname 192\.0\.2\.7$/m);
  assert.match(stdout, /^port 2222$/m);
  assert.ok(stdout.includes(`identityagent ${agentSocket}`), stdout);
  assert.ok(stdout.includes(`identityfile ${path.join(session, 'key.pub')}`), stdout);
  assert.ok(stdout.includes(`userknownhostsfile ${path.join(session, 'known_hosts')}`), stdout);
  assert.equal(fs.readFileSync(path.join(session, 'known_hosts'), 'utf8'), 'zavhoz-box ssh-ed25519 AAAAC3NzaHOST\n');
  assert.deepEqual(handedServers(path.join(root, 'ssh')), []);
});

test('a folder others may enter, a link, a file or a relative path is refused, saying why', () => {
  const open = path.join(root, 'open');
  fs.mkdirSync(open, { mode: 0o755 });
  fs.chmodSync(open, 0o755);
  const link = path.join(root, 'link');
  fs.symlinkSync(path.join(root, 'session'), link);
  const file = path.join(root, 'file');
  fs.writeFileSync(file, '');
  for (const [folder, why] of [[open, /other users/], [link, /not a folder/], [file, /not a folder/], ['relative/folder', /absolute/], [path.join(root, 'missing'), /does not exist/]] as const) {
    assert.throws(() => checkSessionFolder(folder), (error) => error instanceof ZavhozError && why.test(error.message));
  }
});
