/**
 * Which hand-offs a prune forgets: a server gone from the inventory or become a ghost loses its Host block, pinned
 * host key, public key and Include line, and so does a managed one whose address, port, user or key changed since its
 * hand-off; an unchanged managed one keeps them; a prune named for some servers looks at those only.
 * Real files in a throwaway folder; the agent named in the blocks is gone, which the unload takes as nothing to do.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { AuditLog } from '../../daemon/audit/auditLog.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { DaemonAgent } from '../../daemon/terminal/agent.js';
import { type ServerStanding, SshHandoff } from '../../daemon/terminal/handoff.js';
import { handedServers, writeHost } from '../../daemon/terminal/sshConfig.js';
import type { SecretReader } from '../../daemon/vault/api.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-handoff-prune-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Where each server is now, as the inventory says; `kept` as it was handed off. */
const current = new Map<string, { host: string; port: number; user: string; keySecret: string | null }>();
const handedAs = (server: string): { host: string; port: number; user: string; keySecret: string | null } => ({ host: '127.0.0.1', port: 22, user: 'deploy', keySecret: `sec_${server}` });

function handoffIn(name: string): { handoff: SshHandoff; folder: string } {
  const folder = path.join(root, name, 'ssh');
  fs.mkdirSync(path.join(root, name), { recursive: true });
  const unused = (): never => assert.fail('a prune reaches no server and no secret');
  const handoff = new SshHandoff({
    host: { describe: (server) => Promise.resolve(current.get(server) ?? handedAs(server)), openSsh: unused },
    secrets: { withValue: unused } as unknown as SecretReader,
    audit: { record: unused } as unknown as AuditLog,
    log: new Logger({ file: path.join(root, name, 'daemon.log'), redactor: new Redactor() }).child({ component: 'handoff' }),
    folder,
    scratch: path.join(root, name, 'runs'),
    agent: new DaemonAgent(path.join(folder, 'agent.sock')),
  });
  for (const server of ['kept', 'ghosted', 'gone']) {
    writeHost(folder, {
      server,
      ...handedAs(server),
      keySecret: `sec_${server}`,
      agentSocket: path.join(root, name, 'no-agent.sock'),
      publicKey: `ssh-ed25519 AAAAC3Nza zavhoz:${server}`,
      hostKey: 'ssh-ed25519 AAAAC3NzaHOST',
    });
  }
  return { handoff, folder };
}

const standings: Record<string, ServerStanding> = { kept: 'managed', ghosted: 'ghost', gone: 'removed' };
const standing = (server: string): Promise<ServerStanding> => Promise.resolve(standings[server] ?? 'removed');

function leftFor(folder: string, server: string): string[] {
  return [path.join(folder, 'hosts', `${server}.conf`), path.join(folder, 'keys', `${server}.pub`), path.join(folder, 'known_hosts', server)].filter((file) => fs.existsSync(file));
}

test('a ghost and a removed server lose every hand-off file and their Include; a managed one keeps its alias', async () => {
  const { handoff, folder } = handoffIn('all');
  assert.deepEqual(await handoff.prune(standing), ['ghosted', 'gone']);
  assert.deepEqual(handedServers(folder), ['kept']);
  assert.deepEqual(leftFor(folder, 'ghosted'), []);
  assert.deepEqual(leftFor(folder, 'gone'), []);
  assert.equal(leftFor(folder, 'kept').length, 3);
  const config = fs.readFileSync(path.join(folder, 'config'), 'utf8');
  assert.match(config, /hosts\/kept\.conf/);
  assert.doesNotMatch(config, /ghosted|gone/);
  assert.deepEqual(await handoff.prune(standing), [], 'a second prune finds nothing to do');
});

test('a prune for the servers that changed looks at those only', async () => {
  const { handoff, folder } = handoffIn('named');
  assert.deepEqual(await handoff.prune(standing, ['ghosted', 'kept', 'never-handed']), ['ghosted']);
  assert.deepEqual(handedServers(folder), ['gone', 'kept'], 'a removed server not named waits for its own notice (or the next full prune)');
  assert.equal(await handoff.forget('gone', 'removed'), true);
  assert.equal(await handoff.forget('gone', 'removed'), false, 'forgetting twice is harmless');
  assert.deepEqual(handedServers(folder), ['kept']);
});

test('prunes of one server take turns: many at once forget it once', async () => {
  const { handoff, folder } = handoffIn('turns');
  const results = await Promise.all([handoff.prune(standing, ['ghosted']), handoff.prune(standing, ['ghosted']), handoff.prune(standing)]);
  assert.equal(results.flat().filter((server) => server === 'ghosted').length, 1);
  assert.deepEqual(handedServers(folder), ['kept']);
});

test("a managed server whose address, port, user or key changed loses its hand-off; an unchanged one keeps it", async () => {
  for (const [change, now] of [
    ['host', { ...handedAs('kept'), host: '127.0.0.2' }],
    ['port', { ...handedAs('kept'), port: 2222 }],
    ['user', { ...handedAs('kept'), user: 'root' }],
    ['key', { ...handedAs('kept'), keySecret: 'sec_new_key' }],
  ] as const) {
    const { handoff, folder } = handoffIn(`changed-${change}`);
    current.delete('kept');
    assert.deepEqual(await handoff.prune(standing, ['kept']), [], `nothing changed yet (${change})`);
    current.set('kept', now);
    try {
      assert.deepEqual(await handoff.prune(standing, ['kept']), ['kept'], `a changed ${change} makes the alias stale`);
      assert.deepEqual(leftFor(folder, 'kept'), []);
      assert.doesNotMatch(fs.readFileSync(path.join(folder, 'config'), 'utf8'), /kept/);
    } finally {
      current.delete('kept');
    }
  }
});

test('a Host block from before blocks named their key is judged by address, port and user', async () => {
  const { handoff, folder } = handoffIn('older');
  const block = path.join(folder, 'hosts', 'kept.conf');
  fs.writeFileSync(block, fs.readFileSync(block, 'utf8').replace(/^# zavhoz-key-secret .*\n/m, ''));
  current.set('kept', { ...handedAs('kept'), keySecret: 'sec_other' });
  try {
    assert.deepEqual(await handoff.prune(standing, ['kept']), []);
    current.set('kept', { ...handedAs('kept'), port: 2200 });
    assert.deepEqual(await handoff.prune(standing, ['kept']), ['kept']);
  } finally {
    current.delete('kept');
  }
});
