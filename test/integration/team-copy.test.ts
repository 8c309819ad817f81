/**
 * `zavhoz team join --copy-local` against a real PostgreSQL 15 and real daemons, each with its own real keychain:
 * a member with servers (checked over a real sshd), allocations and secrets fills an empty team store; another
 * member's daemon then lists the same servers, allocations and settings, while the first member's plans still
 * resolve their secret handles (and the values, from that member's keychain only). A failure half-way (the daemon
 * killed inside the copy's transaction) leaves the team store empty and the member's store as it was; a second copy
 * into the filled store is refused and changes nothing; the join's password secret can still be rotated after the
 * switch. No secret value shows in any output, log or row of the team database.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { AllocationsList } from '../../daemon/protocol/allocations.js';
import { DeployPlanRequest } from '../../daemon/protocol/deploy.js';
import { EnvPlanRequest } from '../../daemon/protocol/env.js';
import { ServersList } from '../../daemon/protocol/servers.js';
import type { TeamJoinResult, TeamStatusView } from '../../daemon/protocol/team.js';
import { PostgresDatabase } from '../../daemon/store/postgres/database.js';
import { insertRows } from '../../daemon/store/postgres/copy.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import type { TestDaemon } from '../harness/daemon.js';
import { keyBody } from '../harness/leaks.js';
import { type PostgresLogin, type PostgresServer, startPostgres } from '../harness/postgres.js';
import { eventually } from '../harness/processes.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';
import { startVaultDaemon, type VaultDaemon, waitForExit } from './vault-support.js';

/** The tables `--copy-local` fills; the team store must hold none of their rows for a copy. */
const SHARED_TABLES = ['secrets', 'secret_versions', 'secret_holds', 'secret_locations', 'servers', 'allocations', 'proxies', 'domains', 'deploy_runs', 'releases', 'github_state', 'github_secret_pushes', 'settings'];

let server: PostgresServer;
let sshd: SshdServer;
let alice: VaultDaemon;
let bob: VaultDaemon;
let login: PostgresLogin;
let faultLogin: PostgresLogin;
let rowsLogin: PostgresLogin;
let projectFolder: string;
const outputs: string[] = [];
/** Values that must never show: label → value. */
const values = new Map<string, string>();
/** Alice's handles. */
let keyHandle = '';
let tokenHandle = '';
let passwordHandle = '';

async function cli(who: VaultDaemon, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await who.daemon.cli(args, input === undefined ? {} : { input });
  outputs.push(result.stdout, result.stderr);
  return result;
}

async function json<T>(who: VaultDaemon, args: string[], input?: string): Promise<T> {
  const result = await cli(who, [...args, '--json'], input);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

function urlOf(target: PostgresLogin): string {
  return `postgres://${target.user}@127.0.0.1:${target.port}/${target.database}`;
}

/** Runs `work` with a plain connection to the team database (as the test, not as a member). */
async function withDatabase<T>(target: PostgresLogin, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...target, password: values.get('rotated db password') ?? target.password });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Row counts of every table of the team database, by name. */
async function tableCounts(target: PostgresLogin): Promise<Record<string, number>> {
  return withDatabase(target, async (client) => {
    const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
    const counts: Record<string, number> = {};
    for (const { table_name: table } of tables.rows) counts[table] = Number((await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${table}"`)).rows[0]?.n);
    return counts;
  });
}

/** Every row of every table of the team database, as JSON text (for the leak scan). */
async function databaseText(target: PostgresLogin): Promise<string> {
  return withDatabase(target, async (client) => {
    const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    const parts: string[] = [];
    for (const { table_name: table } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${table}" t`);
      parts.push(...rows.rows.map((row) => row.row));
    }
    return parts.join('\n');
  });
}

/** What a member's daemon lists: servers (all), allocations, and the plans of the project folder. */
async function view(who: TestDaemon): Promise<{ servers: string[]; allocations: string[] }> {
  const client = await who.connect();
  try {
    const servers = (await client.request(ServersList, { all: true })).servers.map((entry) => `${entry.handle} ${entry.status} key=${entry.sshKeySecret ?? ''}`).sort();
    const allocations = (await client.request(AllocationsList, {})).allocations.map((entry) => `${entry.project}/${entry.module} ${entry.server}:${entry.port}`).sort();
    return { servers, allocations };
  } finally {
    client.close();
  }
}

before(async () => {
  server = await startPostgres();
  login = await server.createDatabase('team_copy');
  faultLogin = await server.createDatabase('team_copy_fault');
  rowsLogin = await server.createDatabase('team_copy_rows');
  values.set('db password', login.password);
  values.set('fault db password', faultLogin.password);
  sshd = await startSshd();
  values.set('ssh key body', keyBody(sshd.clientKey.privateKeyPem));
  alice = await startVaultDaemon('keychain');
  bob = await startVaultDaemon('keychain');
  projectFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-team-copy-'));
  fs.mkdirSync(path.join(projectFolder, 'infra'));
  fs.writeFileSync(path.join(projectFolder, '.env.example'), 'API_TOKEN=\n');
  fs.writeFileSync(path.join(projectFolder, 'infra', 'compose.base.yml'), 'services:\n  web:\n    image: 127.0.0.1:15000/acme/shop:latest\n    ports:\n      - "${PORT}:8000"\n');

  // Alice alone: a checked server with her SSH key, a second one, an allocation, a project secret, a setting.
  assert.equal((await cli(alice, ['config', 'set', 'healthCheckIntervalSeconds', '0'])).code, 0);
  keyHandle = (await json<{ handle: string }>(alice, ['secret', 'set', 'FLEET_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem)).handle;
  for (const handle of ['fleet_a', 'fleet_b']) {
    const added = await cli(alice, ['server', 'add', handle, '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', keyHandle]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal((await json<{ status: string }>(alice, ['server', 'check', handle])).status, 'ready');
  }
  const token = `api-token-${crypto.randomBytes(16).toString('hex')}`;
  values.set('api token', token);
  tokenHandle = (await json<{ handle: string }>(alice, ['secret', 'set', 'API_TOKEN', '--type', 'token', '--project', 'shop'], token)).handle;
  passwordHandle = (await json<{ handle: string }>(alice, ['secret', 'set', 'TEAM_DB_PASSWORD', '--type', 'password'], `${login.password}\n`)).handle;
  const allocated = await cli(alice, ['allocate', '--project', 'shop', '--modules', 'app', '--min-ram-mb', '8', '--min-disk-mb', '1']);
  assert.equal(allocated.code, 0, allocated.stderr);
});

after(async () => {
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
  await alice?.dispose();
  await bob?.dispose();
  await sshd?.stop();
  await server?.stop();
  if (projectFolder) fs.rmSync(projectFolder, { recursive: true, force: true });
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

describe('zavhoz team join --copy-local', () => {
  let aliceAlone: { servers: string[]; allocations: string[] };

  test('a failure half-way through the copy leaves the team store empty and the member\'s store as it was', async () => {
    aliceAlone = await view(alice.daemon);
    assert.equal(aliceAlone.servers.length, 2);
    assert.equal(aliceAlone.allocations.length, 1);
    // Reading the join's password is a use of that secret (its lastUsedAt, like the join's audit entry, is recorded).
    const secrets = async (): Promise<unknown[]> =>
      (await json<{ handle: string; name: string; version: number; fingerprint: string; updatedAt: string }[]>(alice, ['secret', 'list'])).map(({ handle, name, version, fingerprint, updatedAt }) => ({ handle, name, version, fingerprint, updatedAt }));
    const secretsBefore = await secrets();

    await alice.restart({ ZAVHOZ_TEST_FAULT: 'team-copy-halfway' });
    const pid = alice.daemon.pid();
    const joined = await cli(alice, ['team', 'join', urlOf(faultLogin), '--password-secret', passwordHandle, '--member', 'alice', '--copy-local']);
    assert.notEqual(joined.code, 0, 'the daemon died inside the copy');
    await waitForExit(pid);
    const log = fs.readFileSync(path.join(alice.daemon.home, 'daemon.log'), 'utf8');
    assert.match(log, /killing the daemon half-way through the team copy/, 'the fault struck inside the copy, after rows were sent');

    // PostgreSQL dropped the dead connection's transaction: not one row of the copy, nor the member.
    const counts = await tableCounts(faultLogin);
    for (const table of [...SHARED_TABLES, 'team_members', 'audit_log', 'vault_meta']) assert.equal(counts[table], 0, `${table} is empty`);

    await alice.restart();
    const status = await json<TeamStatusView>(alice, ['team', 'status']);
    assert.equal(status.engine, 'embedded');
    assert.equal(status.joined, null, 'a failed join records nothing');
    assert.deepEqual(await view(alice.daemon), aliceAlone, 'the embedded store is as it was');
    assert.deepEqual(await secrets(), secretsBefore);
  });

  test('the copy fills the empty team store, and the first member\'s plans still resolve its secret handles', async () => {
    const joined = await cli(alice, ['team', 'join', urlOf(login), '--password-secret', passwordHandle, '--member', 'alice', '--copy-local']);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /Copied to the team store: 2 server\(s\), 1 allocation\(s\), 0 run\(s\), 0 release\(s\), 0 domain\(s\), 1 setting\(s\) and 3 secret record\(s\)\. Nothing was taken out of your embedded store/);
    assert.match(joined.stdout, /Other members cannot use 3 of these secrets/);
    assert.match(joined.stdout, new RegExp(`${keyHandle}  FLEET_KEY — SSH key of server fleet_a, SSH key of server fleet_b`));
    assert.match(joined.stdout, new RegExp(`${tokenHandle}  API_TOKEN \\(project shop\\) — project shop`));
    assert.match(joined.stdout, /ZAVHOZ_VAULT=hashicorp/);
    assert.match(joined.stdout, /Kept on this machine only: \d+ audit entr/);
    assert.match(joined.stdout, /vault record of the password secret .* is in the team store too/);
    assert.doesNotMatch(joined.stdout, /Another member's daemon used the team store first/);
    assert.match(joined.stdout, /Stop it now: what you change before then .* is not in the copy/);
    const counts = await tableCounts(login);
    assert.equal(counts.servers, 2);
    assert.equal(counts.allocations, 1);
    assert.equal(counts.secrets, 3);
    assert.equal(counts.settings, 1);
    const audited = await withDatabase(login, (client) => client.query<{ member: string }>("SELECT member FROM audit_log WHERE action = 'team-copy-local'"));
    assert.deepEqual(audited.rows, [{ member: 'alice' }]);

    await alice.restart();
    assert.equal((await json<TeamStatusView>(alice, ['team', 'status'])).engine, 'postgres');
    assert.deepEqual(await view(alice.daemon), aliceAlone, 'alice sees what she had');
    const client = await alice.daemon.connect();
    try {
      const env = await client.request(EnvPlanRequest, { folder: projectFolder, project: 'shop', bindings: {} });
      assert.equal(env.ready, true, JSON.stringify(env.missing));
      assert.equal(env.variables.find((variable) => variable.name === 'API_TOKEN')?.handle, tokenHandle);
      const plan = await client.request(DeployPlanRequest, { folder: projectFolder, project: 'shop' });
      const allocated = plan.modules.find((module) => module.name === 'app')?.allocation;
      assert.ok(allocated && aliceAlone.allocations.includes(`shop/app ${allocated.server}:${allocated.port}`), JSON.stringify(plan.modules));
    } finally {
      client.close();
    }
    // The value behind the copied handle still comes from alice's keychain (its digest, never the value, printed).
    const digest = crypto.createHash('sha256').update(values.get('api token') ?? '').digest('hex');
    const exec = await cli(alice, ['exec', '--secret', `API_TOKEN=${tokenHandle}`, '--', 'sh', '-c', 'printf %s "$API_TOKEN" | sha256sum']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.ok(exec.stdout.includes(digest), exec.stdout);
    // Her SSH key too: a health check over SSH still works from her daemon.
    // The vault's folder id went along, so her fingerprint key still names the copied secrets' fingerprints.
    const aliceLog = fs.readFileSync(path.join(alice.daemon.home, 'daemon.log'), 'utf8');
    assert.doesNotMatch(aliceLog, /fingerprint key missing|secret value changed outside Zavhoz/);
    for (const handle of ['fleet_a', 'fleet_b']) assert.match((await json<{ status: string }>(alice, ['server', 'check', handle])).status, /^(ready|in_use)$/);
  });

  test('a second --copy-local into the filled store is refused and changes nothing; joining without it shows the team\'s state', async () => {
    const bobPassword = (await json<{ handle: string }>(bob, ['secret', 'set', 'TEAM_DB_PASSWORD', '--type', 'password'], `${login.password}\n`)).handle;
    const bobAlone = await view(bob.daemon);
    const before = await tableCounts(login);
    const refused = await cli(bob, ['team', 'join', urlOf(login), '--password-secret', bobPassword, '--member', 'bob', '--copy-local']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is not empty: it holds 3 secret\(s\), .*2 server\(s\), 1 allocation\(s\)/);
    assert.match(refused.stderr, /nothing was copied or changed/);
    assert.match(refused.stderr, /Join without --copy-local/);
    assert.deepEqual(await tableCounts(login), before, 'the team store is unchanged (no member recorded either)');
    assert.equal((await json<TeamStatusView>(bob, ['team', 'status'])).joined, null, 'bob\'s daemon recorded no team');
    assert.deepEqual(await view(bob.daemon), bobAlone);

    // Without the flag bob joins the filled store, and sees alice's servers, allocations and settings.
    const bobJoined = await json<TeamJoinResult>(bob, ['team', 'join', urlOf(login), '--password-secret', bobPassword, '--member', 'bob']);
    assert.equal(bobJoined.copied, undefined);
    assert.deepEqual(bobJoined.notCopied, { servers: 0, allocations: 0, runs: 0, secrets: 1 }, 'without the flag the join counts what stays behind');
    assert.equal(bobJoined.passwordSecretCopy?.outcome, 'not-copied', 'alice\'s secret of that name holds the name in the team store');
    assert.match(bobJoined.passwordSecretCopy.message ?? '', /already has a secret named TEAM_DB_PASSWORD/);
    await bob.restart();
    assert.deepEqual(await view(bob.daemon), aliceAlone, 'bob sees alice\'s servers and allocations');
    assert.equal(await json<number>(bob, ['config', 'get', 'healthCheckIntervalSeconds']), 0, 'and her settings');
    // The values stay in alice's keychain: bob's daemon sees the handle, but cannot read it.
    const digest = crypto.createHash('sha256').update(values.get('api token') ?? '').digest('hex');
    const bobExec = await cli(bob, ['exec', '--secret', `API_TOKEN=${tokenHandle}`, '--', 'sh', '-c', 'printf %s "$API_TOKEN" | sha256sum']);
    assert.notEqual(bobExec.code, 0, 'bob cannot read a value kept in alice\'s keychain');
    assert.ok(!bobExec.stdout.includes(digest));
  });

  test('the join\'s password secret, copied with the rest, can be rotated after the switch; no value anywhere', async () => {
    const rotated = `rotated-${crypto.randomBytes(12).toString('hex')}`;
    await server.asSuperuser((admin) => admin.query(`ALTER ROLE ${login.user} PASSWORD '${rotated}'`), login.database);
    values.set('rotated db password', rotated);
    const rotate = await cli(alice, ['secret', 'rotate', passwordHandle], `${rotated}\n`);
    assert.equal(rotate.code, 0, rotate.stderr);
    const daemonLog = path.join(alice.daemon.home, 'daemon.log');
    await eventually('the keychain copy to follow the rotation', () => fs.readFileSync(daemonLog, 'utf8').includes("the keychain copy of the team database's password follows its vault secret"));
    await alice.restart();
    const status = await json<TeamStatusView>(alice, ['team', 'status']);
    assert.equal(status.engine, 'postgres');
    assert.equal(status.reachable, true, 'the restart logged in with the rotated password');

    const shared = await databaseText(login);
    const logs = [alice, bob].flatMap((member) =>
      fs
        .readdirSync(member.daemon.home)
        .filter((name) => name.startsWith('daemon.log'))
        .map((name) => fs.readFileSync(path.join(member.daemon.home, name), 'utf8')),
    );
    for (const [label, value] of values) {
      assert.ok(!shared.includes(value), `the team database holds the ${label}`);
      for (const text of [...outputs, ...logs]) assert.ok(!text.includes(value), `an output or log holds the ${label}`);
    }
  });
});

describe('insertRows (the copy\'s writer)', () => {
  test('a thousand rows go in batches inside one transaction, and a failure in a later batch keeps none', async () => {
    // Made in before(): the suite above rotates the password the harness makes databases with.
    const store = await PostgresDatabase.open({ connection: { ...rowsLogin, password: values.get('rotated db password') ?? rowsLogin.password }, migrations: MIGRATIONS });
    try {
      const rows = Array.from({ length: 1000 }, (_, index) => ({ project: `p${index}`, module: 'app', server: 'fleet_a', port: 10_000 + index, ram_mb: 8, created_at: '2026-01-01T00:00:00.000Z', slot_port: null }));
      assert.equal(await store.transaction((tx) => insertRows(tx, 'allocations', rows)), 1000);
      assert.equal((await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM allocations'))?.n, 1000);
      assert.deepEqual(await store.get('SELECT project, port FROM allocations ORDER BY rowid DESC LIMIT 1'), { project: 'p999', port: 10_999 });

      // The last row collides with a row of the first batch: the whole transaction is rolled back.
      const more = Array.from({ length: 500 }, (_, index) => ({ ...rows[0], project: `q${index}`, port: 20_000 + index }));
      more.push({ ...rows[0], project: 'q-last', port: 10_000 });
      await assert.rejects(store.transaction((tx) => insertRows(tx, 'allocations', more)));
      assert.equal((await store.get<{ n: number }>("SELECT COUNT(*) AS n FROM allocations WHERE project LIKE 'q%'"))?.n, 0);
    } finally {
      await store.close();
    }
  });
});
