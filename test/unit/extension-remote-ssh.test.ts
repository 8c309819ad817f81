/**
 * The Remote-SSH hand-off's extension side without VS Code: the window's remote authority, the system ssh arguments
 * (Zavhoz's config for the alias and nothing else), and the words a person reads.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CommandIds } from '../../extension/commandIds.js';
import { REMOTE_SSH_EXTENSIONS, handoffSummary, includeLine, includeQuestion, includeTarget, remoteAuthority, sshArguments } from '../../extension/model/remoteSsh.js';

const root = path.resolve(import.meta.dirname, '../..');

test('a handed-off server opens as ssh-remote+<alias>, and the terminal runs ssh with only its config and alias', () => {
  assert.equal(remoteAuthority('zavhoz-prod_vps_1'), 'ssh-remote+zavhoz-prod_vps_1');
  assert.deepEqual(sshArguments({ hostConfig: '/data/ssh/hosts/box.conf', alias: 'zavhoz-box' }), ['-F', '/data/ssh/hosts/box.conf', 'zavhoz-box']);
  assert.ok(REMOTE_SSH_EXTENSIONS.includes('ms-vscode-remote.remote-ssh'));
});

test('the summary says whose key is in the agent and for how long, never a path or key', () => {
  const now = new Date('2026-12-07T03:00:00Z');
  assert.equal(handoffSummary({ server: 'box', alias: 'zavhoz-box', expiresAt: '2026-12-07T11:00:00Z' }, now), 'The key of box is in your ssh-agent for 8 h; connecting to zavhoz-box.');
  assert.equal(handoffSummary({ server: 'box', alias: 'zavhoz-box', expiresAt: '2026-12-07T03:10:00Z' }, now), 'The key of box is in your ssh-agent for 10 min; connecting to zavhoz-box.');
  assert.match(includeQuestion({ file: '/home/ann/.ssh/config', fromSetting: false }), /Include line for that file at the top of ~\/\.ssh\/config\?$/);
});

test("the Include line goes to Remote-SSH's remote.SSH.configFile when it is set, else to ~/.ssh/config; a path Remote-SSH cannot use is explained", () => {
  const home = '/home/ann';
  for (const unset of [undefined, null, '', '   ', 42]) assert.deepEqual(includeTarget(unset, home), { file: '/home/ann/.ssh/config', fromSetting: false });
  assert.deepEqual(includeTarget('/etc/zavhoz/ssh_config', home), { file: '/etc/zavhoz/ssh_config', fromSetting: true });
  assert.deepEqual(includeTarget(' ~/work/ssh config ', home), { file: '/home/ann/work/ssh config', fromSetting: true });
  assert.deepEqual(includeTarget('C:\\Users\\ann\\ssh\\config', 'C:\\Users\\ann', '\\'), { file: 'C:\\Users\\ann\\ssh\\config', fromSetting: true });
  assert.deepEqual(includeTarget('~\\ssh\\config', 'C:\\Users\\ann', '\\'), { file: 'C:\\Users\\ann\\ssh\\config', fromSetting: true });
  for (const unusable of ['ssh/config', '~', '/tmp/with"quote']) {
    const target = includeTarget(unusable, home);
    assert.ok('problem' in target, unusable);
    assert.match(target.problem, /remote\.SSH\.configFile/);
  }
  // The question names the file the line goes to, and the line is what the daemon writes.
  assert.match(includeQuestion({ file: '/etc/zavhoz/ssh_config', fromSetting: true }), /^Remote-SSH finds hosts in \/etc\/zavhoz\/ssh_config \(your remote\.SSH\.configFile\)\..*top of \/etc\/zavhoz\/ssh_config\?$/);
  assert.equal(includeLine('/home/ann/.local/share/zavhoz/ssh/config'), 'Include "/home/ann/.local/share/zavhoz/ssh/config"');
});

test('Open in Remote-SSH shows only on managed servers and only when Remote-SSH is installed; the system ssh terminal on every managed server', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { contributes: { menus: Record<string, { command: string; when?: string }[]> } };
  const items = manifest.contributes.menus['view/item/context'] ?? [];
  const remote = items.filter((item) => item.command === CommandIds.openInRemoteSsh);
  assert.ok(remote.length >= 2, 'inline and in the context menu');
  for (const item of remote) {
    assert.match(item.when ?? '', /viewItem == server\.managed/);
    assert.ok(item.when?.includes('zavhoz.remoteSshInstalled'));
  }
  assert.ok(items.some((item) => item.command === CommandIds.openSystemSshTerminal && item.when?.includes('viewItem == server.managed')));
  const palette = manifest.contributes.menus['commandPalette'] ?? [];
  assert.ok(palette.some((item) => item.command === CommandIds.openInRemoteSsh && item.when === 'zavhoz.remoteSshInstalled'));
});
