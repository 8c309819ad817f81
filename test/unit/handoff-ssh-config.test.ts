/**
 * Zavhoz's SSH config for handed-off servers, read back by the real OpenSSH client (`ssh -G` resolves a config
 * without connecting): quoted paths with spaces, one Include per host, and the user's own config changed only by
 * one Include line at its top, through a link where it is one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { addInclude, includes, knownHostsKey, writeHost } from '../../daemon/terminal/sshConfig.js';

const execFileAsync = promisify(execFile);
// A space, as in macOS's "Application Support".
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz ssh config-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function hostKeyBlob(type: string): Buffer {
  const name = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, Buffer.from([0, 0, 0, 1, 7])]);
}

async function resolved(config: string, alias: string): Promise<Map<string, string[]>> {
  const { stdout } = await execFileAsync('ssh', ['-G', '-F', config, alias], { env: { PATH: process.env['PATH'], HOME: root } });
  const options = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.split(' ');
    if (key) options.set(key, [...(options.get(key) ?? []), rest.join(' ')]);
  }
  return options;
}

test('each host resolves to its address, user, port, agent, public key and pinned host key, through the including config', async () => {
  const folder = path.join(root, 'data', 'ssh');
  const agentSocket = path.join(root, 'agent dir', 'agent.sock');
  const common = { user: 'deploy', keySecret: 'sec_box_key', agentSocket, publicKey: 'ssh-ed25519 AAAAC3Nza zavhoz:box', hostKey: knownHostsKey(hostKeyBlob('ssh-ed25519')) };
  writeHost(folder, { ...common, server: 'box', host: '203.0.113.7', port: 2222 });
  const written = writeHost(folder, { ...common, server: 'db', host: '203.0.113.8', port: 22 });
  assert.equal(fs.readFileSync(written.configFile, 'utf8').split('\n').filter((line) => line.startsWith('Include ')).length, 2);
  for (const file of [written.configFile, written.hostConfig]) assert.equal(fs.statSync(file).mode & 0o777, 0o600);

  const box = await resolved(written.configFile, 'zavhoz-box');
  assert.deepEqual(box.get('hostname'), ['203.0.113.7']);
  assert.deepEqual(box.get('port'), ['2222']);
  assert.deepEqual(box.get('user'), ['deploy']);
  assert.deepEqual(box.get('identityagent'), [agentSocket]);
  assert.deepEqual(box.get('identityfile'), [path.join(folder, 'keys', 'box.pub')]);
  assert.deepEqual(box.get('identitiesonly'), ['yes']);
  assert.deepEqual(box.get('stricthostkeychecking'), ['true']);
  assert.deepEqual(box.get('userknownhostsfile'), [path.join(folder, 'known_hosts', 'box')]);
  assert.deepEqual(box.get('hostkeyalias'), ['zavhoz-box']);
  assert.deepEqual((await resolved(written.configFile, 'zavhoz-db')).get('hostname'), ['203.0.113.8']);
  assert.equal(fs.readFileSync(path.join(folder, 'known_hosts', 'box'), 'utf8'), `zavhoz-box ssh-ed25519 ${hostKeyBlob('ssh-ed25519').toString('base64')}\n`);
  assert.throws(() => knownHostsKey(Buffer.from([0, 0, 0, 3, 0x20, 0x21, 0x22])));
});

test("the user's config gets one Include line at its top, through a link, and a new one is made private", () => {
  const configFile = path.join(root, 'data', 'ssh', 'config');
  const fresh = path.join(root, 'home-a', '.ssh', 'config');
  addInclude(fresh, configFile);
  assert.ok(includes(fresh, configFile));
  assert.equal(fs.statSync(fresh).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(fresh)).mode & 0o777, 0o700);

  const dotfiles = path.join(root, 'dotfiles', 'ssh_config');
  fs.mkdirSync(path.dirname(dotfiles), { recursive: true });
  fs.writeFileSync(dotfiles, 'Host *\n  ServerAliveInterval 30\n', { mode: 0o644 });
  const linked = path.join(root, 'home-b', '.ssh', 'config');
  fs.mkdirSync(path.dirname(linked), { recursive: true });
  fs.symlinkSync(dotfiles, linked);
  addInclude(linked, configFile);
  addInclude(linked, configFile);
  assert.ok(fs.lstatSync(linked).isSymbolicLink(), 'the link stays a link');
  const text = fs.readFileSync(dotfiles, 'utf8');
  assert.equal(text.split('\n').filter((line) => line.startsWith('Include ')).length, 1);
  assert.ok(text.indexOf('Include ') < text.indexOf('Host *'));
  assert.ok(text.endsWith('Host *\n  ServerAliveInterval 30\n'));
  assert.equal(fs.statSync(dotfiles).mode & 0o777, 0o644);
});
