/**
 * `zavhoz team join/status/leave` through the CLI against a running daemon (real keychain, real PostgreSQL 15): the
 * password as a vault handle (never in argv), refusals that say what to do (password in the URL, wrong password,
 * nothing listening), the switch at the next start, the member in status and in the audit log, and leaving back to
 * the embedded store. The password never shows in any output or the daemon's log.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { TeamStatusView } from '../../daemon/protocol/team.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { freeLoopbackPort } from '../harness/net.js';
import { type PostgresLogin, type PostgresServer, startPostgres } from '../harness/postgres.js';
import { eventually } from '../harness/processes.js';
import { startVaultDaemon, type VaultDaemon } from './vault-support.js';

let server: PostgresServer;
let vault: VaultDaemon;
let login: PostgresLogin;
const outputs: string[] = [];

before(async () => {
  server = await startPostgres();
  login = await server.createDatabase('team_cli');
  vault = await startVaultDaemon('keychain');
});

after(async () => {
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
  await vault?.dispose();
  await server?.stop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await vault.daemon.cli(args, input === undefined ? {} : { input });
  outputs.push(result.stdout, result.stderr);
  return result;
}

async function json<T>(args: string[], input?: string): Promise<T> {
  const result = await cli([...args, '--json'], input);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

describe('zavhoz team', () => {
  test('join with a vault handle, switch at restart, status with members, leave back to the embedded store', async () => {
    const url = `postgres://${login.user}@127.0.0.1:${login.port}/${login.database}`;
    const alone = await json<TeamStatusView>(['team', 'status']);
    assert.equal(alone.engine, 'embedded');
    assert.equal(alone.joined, null);

    const inUrl = await cli(['team', 'join', `postgres://${login.user}:not-this-way@127.0.0.1:${login.port}/${login.database}`]);
    assert.equal(inUrl.code, 2);
    assert.match(inUrl.stderr, /Leave the password out of the URL/);
    assert.doesNotMatch(inUrl.stderr, /not-this-way/);

    const wrong = await cli(['secret', 'set', 'TEAM_DB_WRONG', '--type', 'password'], 'wrong-password\n');
    assert.equal(wrong.code, 0, wrong.stderr);
    const refused = await cli(['team', 'join', url, '--password-secret', wrong.stdout.trim()]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the login/);
    assert.match(refused.stderr, /Check the user and the password/);

    const closedPort = await freeLoopbackPort();
    const unreachable = await cli(['team', 'join', `postgres://${login.user}@127.0.0.1:${closedPort}/${login.database}`]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`team database at 127\\.0\\.0\\.1:${closedPort} cannot be reached`));
    assert.equal((await json<TeamStatusView>(['team', 'status'])).joined, null, 'a failed join records nothing');

    const set = await cli(['secret', 'set', 'TEAM_DB_PASSWORD', '--type', 'password'], `${login.password}\n`);
    assert.equal(set.code, 0, set.stderr);
    const handle = set.stdout.trim();
    const joined = await cli(['team', 'join', url, '--password-secret', handle, '--member', 'alice']);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /keeps its embedded store until it restarts/);
    // What the embedded store holds is not copied, and the join says what stays behind.
    assert.match(joined.stdout, /Not copied to the team store: 0 server\(s\), 0 allocation\(s\), 0 run\(s\) and [1-9]\d* secret\(s\)/);
    const pending = await json<TeamStatusView>(['team', 'status']);
    assert.equal(pending.engine, 'embedded');
    assert.equal(pending.restartNeeded, true);
    assert.deepEqual(
      pending.joined && { ...pending.joined, joinedAt: '' },
      { host: '127.0.0.1', port: login.port, database: login.database, user: login.user, password: 'secret', passwordSecret: handle, member: 'alice', joinedAt: '' },
    );

    // The password is rotated in the vault (and on the server) before the switch: the keychain copy follows, so the
    // start on the team store below logs in with the new one.
    const rotated = `rotated-${login.password}`;
    await server.asSuperuser((admin) => admin.query(`ALTER ROLE ${login.user} PASSWORD '${rotated}'`), login.database);
    const rotate = await cli(['secret', 'rotate', handle], `${rotated}\n`);
    assert.equal(rotate.code, 0, rotate.stderr);
    const daemonLog = path.join(vault.daemon.home, 'daemon.log');
    await eventually('the keychain copy to follow the rotation', () => fs.readFileSync(daemonLog, 'utf8').includes("the keychain copy of the team database's password follows its vault secret"));

    await vault.restart();
    const running = await json<TeamStatusView>(['team', 'status']);
    assert.equal(running.engine, 'postgres');
    assert.equal(running.reachable, true);
    assert.equal(running.restartNeeded, false);
    assert.equal(running.schemaVersion, MIGRATIONS.length);
    assert.deepEqual(running.members.map((member) => member.member), ['alice']);
    const text = await cli(['team', 'status']);
    assert.match(text.stdout, /store\s+team \(PostgreSQL\)/);
    assert.match(text.stdout, /members\s+alice \(last seen /);

    // What this daemon records now goes to the team store, under the member's name.
    const left = await json<TeamStatusView & { left: boolean }>(['team', 'leave']);
    assert.equal(left.left, true);
    assert.equal(left.engine, 'postgres');
    assert.equal(left.restartNeeded, true);
    const client = new pg.Client({ ...login, password: rotated });
    await client.connect();
    try {
      const rows = await client.query<{ action: string; member: string | null }>("SELECT action, member FROM audit_log WHERE action = 'team-leave'");
      assert.equal(rows.rows.length, 1, 'the leave was audited in the team store');
      assert.equal(rows.rows[0]!.member, 'alice', 'the member has a column of its own');
    } finally {
      await client.end();
    }
    // `audit list` shows who did it, in words and in its JSON.
    const audit = await json<{ action: string; member?: string }[]>(['audit', 'list']);
    assert.equal(audit.find((entry) => entry.action === 'team-leave')?.member, 'alice');
    assert.match((await cli(['audit', 'list'])).stdout, /team-leave\s+.*\balice via /);

    await vault.restart();
    const back = await json<TeamStatusView>(['team', 'status']);
    assert.equal(back.engine, 'embedded');
    assert.equal(back.joined, null);

    const log = fs.readFileSync(path.join(vault.daemon.home, 'daemon.log'), 'utf8');
    for (const text of [...outputs, log]) {
      assert.ok(!text.includes(login.password), 'the team database password never shows');
      assert.ok(!text.includes(rotated), 'nor the rotated one');
    }
  });
});
