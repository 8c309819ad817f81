/**
 * On a team's store (a real PostgreSQL 15), a server another member's daemon removes or makes a ghost loses its SSH
 * hand-off on this member's daemon at once, through the team's NOTIFY relay, without a restart: Host block, pinned host
 * key, public key and Include line go, and the key leaves the real ssh-agent the block named. A managed server keeps its
 * alias. Each "daemon" is the real wiring (wireTeamChanges, wireHandoff) over its own PostgresDatabase.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Allocator } from '../../daemon/allocation/allocator.js';
import type { AuditLog } from '../../daemon/audit/auditLog.js';
import { Logger } from '../../daemon/core/logger.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { Inventory } from '../../daemon/inventory/inventory.js';
import type { InventoryService } from '../../daemon/inventory/service.js';
import { SettingsService } from '../../daemon/settings/settings.js';
import { PostgresDatabase } from '../../daemon/store/postgres/database.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { handedServers, writeHost } from '../../daemon/terminal/sshConfig.js';
import type { Vault } from '../../daemon/vault/vault.js';
import { wireHandoff } from '../../daemon/wiring/handoff.js';
import type { Foundation, Lifecycle } from '../../daemon/wiring/services.js';
import { wireTeamChanges } from '../../daemon/wiring/team.js';
import { type PostgresServer, startPostgres } from '../harness/postgres.js';
import { hasExited, removeFolder, terminateTree, waitUntil } from '../harness/processes.js';
import { MemorySecrets, RecordingNotifier } from '../unit/allocationSupport.js';

const execFileAsync = promisify(execFile);

let server: PostgresServer;
let scratch: string;
let agent: { socket: string; child: ChildProcess };
const opened: PostgresDatabase[] = [];
const stoppers: (() => Promise<void> | void)[] = [];

before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-handoff-team-'));
  server = await startPostgres();
  const socket = path.join(scratch, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore', detached: true });
  agent = { socket, child };
  await waitUntil('the test ssh-agent opens its socket', () => (fs.existsSync(socket) ? true : hasExited(child) ? assert.fail('ssh-agent exited') : undefined));
});

after(async () => {
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
  for (const stop of stoppers.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  for (const database of opened) await database.close().catch(() => undefined);
  if (agent) await terminateTree(agent.child);
  await server?.stop();
  if (scratch) removeFolder(scratch);
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

/** A foundation as the daemon builds it on a team store, in its own data folder. */
function teamFoundation(store: PostgresDatabase, member: string): Foundation {
  const folder = fs.mkdtempSync(path.join(scratch, `${member}-`));
  const redactor = new Redactor();
  const logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
  stoppers.push(() => logger.close());
  const lifecycle: Lifecycle = { onShutdown: (stop) => stoppers.push(stop), requestShutdown: () => undefined };
  const record = { host: '127.0.0.1', port: server.port, database: 'team', user: 'zavhoz', member, joinedAt: new Date().toISOString() };
  return {
    paths: dataPaths(folder),
    store,
    redactor,
    logger,
    log: logger.child({ component: 'test' }),
    server: Object.assign(new RecordingNotifier(), { notifyConnection: () => false }),
    lifecycle,
    environment: {},
    team: { record, store },
  };
}

async function agentKeys(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ssh-add', ['-l'], { env: { PATH: process.env['PATH'], SSH_AUTH_SOCK: agent.socket } });
    return stdout;
  } catch (error) {
    // ssh-add -l exits 1 with "The agent has no identities."
    return (error as { stdout?: string }).stdout ?? '';
  }
}

describe("the SSH hand-off on a team store: another member's removal or ghosting reaches this daemon at once", () => {
  test("a server removed and one made a ghost on A lose their alias and agent key on B without a restart; a managed one keeps its alias", async () => {
    const login = await server.createDatabase();
    const open = async (): Promise<PostgresDatabase> => {
      const { password, ...where } = login;
      const database = await PostgresDatabase.open({ connection: { ...where, password: () => Promise.resolve(password) }, migrations: MIGRATIONS });
      opened.push(database);
      return database;
    };
    const storeA = await open();
    const storeB = await open();
    const teamA = await wireTeamChanges(teamFoundation(storeA, 'alice'));
    const b = teamFoundation(storeB, 'bob');
    const teamB = await wireTeamChanges(b);
    const settingsA = await SettingsService.open(storeA, teamA.foundation.server);
    teamA.followSettings(settingsA);
    const inventoryA = new Inventory(storeA, settingsA, teamA.foundation.server, new Allocator(storeA, teamA.foundation.server), new MemorySecrets(new Map()));
    for (const handle of ['kept', 'removed', 'ghosted']) {
      await inventoryA.add({ handle, host: '127.0.0.1', sshPort: 22, sshUser: 'deploy', labels: [] });
    }

    // B handed the three servers to its person's SSH client earlier: their blocks name the agent that holds each key.
    const unused = (): never => assert.fail('nothing here hands a server off');
    wireHandoff(teamB.foundation, {
      inventory: { afterRemove: () => undefined, inventory: { row: unused }, openSsh: unused } as unknown as InventoryService,
      vault: {} as unknown as Vault,
      audit: { record: unused } as unknown as AuditLog,
      serverChanges: (listener) => teamB.followServers(listener),
    });
    const folder = path.join(b.paths.folder, 'ssh');
    const fingerprints = new Map<string, string>();
    for (const handle of ['kept', 'removed', 'ghosted']) {
      const keyFile = path.join(scratch, `${handle}_key`);
      await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', handle, '-f', keyFile]);
      await execFileAsync('ssh-add', [keyFile], { env: { PATH: process.env['PATH'], SSH_AUTH_SOCK: agent.socket } });
      const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${keyFile}.pub`]);
      fingerprints.set(handle, stdout.split(' ')[1] ?? '?');
      writeHost(folder, { server: handle, host: '127.0.0.1', port: 22, user: 'deploy', keySecret: `sec_${handle}`, agentSocket: agent.socket, publicKey: fs.readFileSync(`${keyFile}.pub`, 'utf8').trim(), hostKey: 'ssh-ed25519 AAAAC3NzaHOST' });
    }
    for (const id of fingerprints.values()) assert.ok((await agentKeys()).includes(id));

    await inventoryA.remove('removed', false);
    await waitUntil("B forgets the hand-off of the server A removed", () => (!handedServers(folder).includes('removed') ? true : undefined));
    await inventoryA.ghost('ghosted', false);
    await waitUntil("B forgets the hand-off of the server A made a ghost", () => (!handedServers(folder).includes('ghosted') ? true : undefined));

    assert.deepEqual(handedServers(folder), ['kept']);
    for (const handle of ['removed', 'ghosted']) {
      for (const file of [path.join(folder, 'keys', `${handle}.pub`), path.join(folder, 'known_hosts', handle)]) assert.equal(fs.existsSync(file), false, `${file} is left behind`);
    }
    const config = fs.readFileSync(path.join(folder, 'config'), 'utf8');
    assert.match(config, /hosts\/kept\.conf/);
    assert.doesNotMatch(config, /removed|ghosted/);
    const keys = await agentKeys();
    assert.ok(keys.includes(fingerprints.get('kept') ?? '?'), 'the managed server key stays in the agent');
    assert.ok(!keys.includes(fingerprints.get('removed') ?? '?'), 'the removed server key left the agent');
    assert.ok(!keys.includes(fingerprints.get('ghosted') ?? '?'), 'the ghost server key left the agent');
  });
});
