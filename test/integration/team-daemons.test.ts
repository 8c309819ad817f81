/**
 * Four real daemon processes (each its own data folder and file vault) joined to one private PostgreSQL 15
 * (test/harness/postgres.ts) with `zavhoz team join --passfile`, driven through their CLI and protocol:
 * 1,000 allocations from all four at once hand out no (server, port) twice and every member lists all of them, and one
 * project asked of all four at once gets one allocation; a deploy
 * on bob's daemon queues behind alice's hold of the project (taken through `ProjectLocks`, as team-locks.test.ts
 * does, under alice's member name: the hold lasts exactly as long as the test wants), says whom it waits for in
 * `run show` (carol's, queued next, names bob's), starts once she lets go, with its start time then, and a queued run
 * can be cancelled; a change through one daemon reaches
 * another's client as a didChange; the audit log on any member names who did what, and no log holds the password; a whole
 * deploy by alice to a real sshd target and the run's real container engine shows in bob's `run list` and reaches
 * bob's client as runs/didChange.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { DaemonClient } from '../../daemon/client/client.js';
import { ProjectLocks } from '../../daemon/core/projectLocks.js';
import { AllocationsAllocate, AllocationsDidChange } from '../../daemon/protocol/allocations.js';
import { type RunDetail, RunsDidChange, type RunSummary } from '../../daemon/protocol/runs.js';
import type { TeamStatusView } from '../../daemon/protocol/team.js';
import { PostgresDatabase } from '../../daemon/store/postgres/database.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { cliJson, cliOk } from '../harness/daemon.js';
import { type PostgresLogin, type PostgresServer, startPostgres } from '../harness/postgres.js';
import { removeFolder } from '../harness/processes.js';
import { deployAndWait, type RealDeployWorld, setUpRealDeployWorld } from './deploy-support.js';
import { startVaultDaemon, type VaultDaemon } from './vault-support.js';

const execFileAsync = promisify(execFile);
const MEMBERS = ['alice', 'bob', 'carol', 'dave'] as const;

let server: PostgresServer;
let login: PostgresLogin;
let store: PostgresDatabase;
/** A throwaway ed25519 private key (test-only, no passphrase) the members store as their server key. */
let sshKey: string;
const daemons: VaultDaemon[] = [];
const clients: DaemonClient[] = [];
const folders: string[] = [];
/** Ends holds a test took (called by after() too, when the test failed before it let go). */
const releases: (() => void)[] = [];
/** The deploy target (sshd, fixture repository, test doubles) of the last test, set up there. */
let world: RealDeployWorld | undefined;

before(async () => {
  const keyFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-team-key-'));
  folders.push(keyFolder);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'team-daemons test', '-f', path.join(keyFolder, 'id')]);
  sshKey = fs.readFileSync(path.join(keyFolder, 'id'), 'utf8');
  server = await startPostgres();
  login = await server.createDatabase('team_daemons');
  // One by one: four daemon starts at once on a busy 2-core machine gain little and risk the start deadline.
  for (let index = 0; index < MEMBERS.length; index += 1) daemons.push(await startVaultDaemon('file'));
  const url = `postgres://${login.user}@${login.host}:${login.port}/${login.database}`;
  for (const [index, member] of MEMBERS.entries()) {
    const daemon = daemons[index]!;
    await cliOk(daemon.daemon, ['team', 'join', url, '--passfile', server.passFile, '--member', member]);
    await daemon.restart();
    const status = await cliJson<TeamStatusView>(daemon.daemon, ['team', 'status']);
    assert.equal(status.engine, 'postgres', `${member}'s daemon runs on the team store`);
  }
  const { password, ...where } = login;
  store = await PostgresDatabase.open({ connection: { ...where, applicationName: 'team-daemons test', password: () => Promise.resolve(password) }, migrations: MIGRATIONS });
  // Two servers the whole team shares, as a member's `server add` would have left them in the shared store.
  const now = new Date().toISOString();
  await store.transaction(async (tx) => {
    for (const handle of ['srv_team_a', 'srv_team_b']) {
      await tx.run(
        "INSERT INTO servers (handle, name, host, ssh_port, ssh_user, status, available_ram_mb, available_disk_mb, created_at, updated_at) VALUES (?, ?, '127.0.0.1', 22, 'root', 'ready', ?, ?, ?, ?)",
        [handle, handle, 1_000_000, 1_000_000, now, now],
      );
    }
  });
});

after(async () => {
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
  // A test that failed half-way may still hold a project for alice: let go first, so the store can close.
  for (const release of releases) release();
  for (const client of clients) client.close();
  // Every daemon is stopped by its PID (dispose sends SIGTERM to the PID in its lock file and waits for it to exit).
  for (const daemon of daemons) await daemon.dispose().catch(() => undefined);
  await world?.dispose();
  await store?.close().catch(() => undefined);
  for (const folder of folders) removeFolder(folder);
  await server?.stop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

/** Polls `check` until it holds, for at most `timeoutMs` (generous: the machine is shared). */
async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface ListedAllocation {
  readonly project: string;
  readonly module: string;
  readonly server: string;
  readonly port: number;
}

/** A project folder a deploy accepts (one module, `app`, whose port comes from the allocation). */
function projectFolder(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-team-project-'));
  folders.push(folder);
  fs.writeFileSync(path.join(folder, '.env.example'), 'PORT=\n');
  fs.mkdirSync(path.join(folder, 'infra'));
  fs.writeFileSync(path.join(folder, 'infra/compose.base.yml'), 'services:\n  app:\n    image: 127.0.0.1:5000/acme/queued-shop:latest\n    ports:\n      - "127.0.0.1:${PORT}:8000"\n');
  fs.writeFileSync(path.join(folder, 'infra/compose.prod.yml'), 'services:\n  app:\n    restart: unless-stopped\n');
  return folder;
}

describe('four daemons on one team database', () => {
  test('1,000 allocations from all four at once: no (server, port) twice, every member lists all of them; one project asked of all four gets one allocation', async (t) => {
    // 250 per daemon, sent at once over a few protocol connections per daemon (as several windows and the CLI would):
    // a CLI process per allocation would measure process starts, not the store.
    const total = 1_000;
    const connectionsPerDaemon = 5;
    const perConnection = total / MEMBERS.length / connectionsPerDaemon;
    assert.ok(Number.isInteger(perConnection), 'the allocations split evenly over the connections');
    const connections = await Promise.all(daemons.flatMap((daemon) => Array.from({ length: connectionsPerDaemon }, () => daemon.daemon.connect('test'))));
    clients.push(...connections);
    const started = performance.now();
    const answers = await Promise.all(
      connections.map((client, connection) =>
        Promise.all(Array.from({ length: perConnection }, (_, index) => client.request(AllocationsAllocate, { project: `four-${connection}-${index}`, minRamMb: 1, minDiskMb: 1 }))),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`${total} allocations from ${MEMBERS.length} daemons at once in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)}/s)`);
    const allocations = answers.flat().flatMap((answer) => answer.allocations);
    assert.equal(allocations.length, total, 'one allocation per project');
    const pairs = new Set(allocations.map((allocation) => `${allocation.server}:${allocation.port}`));
    assert.equal(pairs.size, total, 'every allocation has a (server, port) of its own');
    for (const [index, daemon] of daemons.entries()) {
      const listed = (await cliJson<ListedAllocation[]>(daemon.daemon, ['allocation', 'list'])).filter((allocation) => allocation.project.startsWith('four-'));
      assert.equal(listed.length, total, `${MEMBERS[index]!} lists all of them`);
      assert.deepEqual(new Set(listed.map((allocation) => `${allocation.server}:${allocation.port}`)), pairs);
    }

    // The same project asked of all four at once: one allocation, the same answer everywhere.
    const same = await Promise.all(daemons.map((daemon) => cliJson<{ allocations: { server: string; port: number }[]; created: unknown[] }>(daemon.daemon, ['allocate', '--project', 'same-shop', '--min-ram-mb', '1'])));
    assert.equal(new Set(same.map((answer) => JSON.stringify(answer.allocations))).size, 1, 'all four got the same allocation');
    assert.equal(same.filter((answer) => answer.created.length > 0).length, 1, 'exactly one of them created it');
    assert.equal((await cliJson<ListedAllocation[]>(daemons[3]!.daemon, ['allocation', 'list', '--project', 'same-shop'])).length, 1);
  });

  test("bob's deploy queues behind alice's hold of the project, names her in run show, starts once she is done; a queued run can be cancelled", async () => {
    const [, bob, carol] = daemons;
    const folder = projectFolder();
    await cliJson(bob!.daemon, ['allocate', '--project', 'queued-shop', '--min-ram-mb', '1']);

    const aliceLocks = new ProjectLocks({ shared: store, member: 'alice' });
    let holding: () => void = () => undefined;
    let finish: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const alice = aliceLocks.hold('queued-shop', 'deploy run_alicealice', async () => {
      holding();
      await new Promise<void>((resolve) => {
        finish = resolve;
        releases.push(resolve);
      });
    });
    await held;

    // Each deploy is accepted only with the server's SSH key in the deploying member's own vault (a personal secret):
    // the server's key is pointed at bob's, then at carol's, before each of them deploys.
    const useKeyOf = async (daemon: VaultDaemon, name: string): Promise<void> => {
      const handle = (await cliOk(daemon.daemon, ['secret', 'set', name, '--type', 'private_key'], sshKey)).trim();
      await store.transaction((tx) => tx.run('UPDATE servers SET ssh_key_secret = ?', [handle]));
    };
    const deployArgs = ['deploy', folder, '--project', 'queued-shop', '--repo', 'acme/queued-shop', '--repo-url', 'file:///nonexistent/queued-shop.git', '--timeout', '600'];
    // One after the other (each in line before the next asks): bob waits for alice, carol for bob, who is ahead of her.
    const queue = async (who: string, daemon: VaultDaemon): Promise<{ run: RunDetail; queued: RunDetail }> => {
      await useKeyOf(daemon, `${who.toUpperCase()}_SERVER_KEY`);
      const run = await cliJson<RunDetail>(daemon.daemon, deployArgs);
      const queued = await eventually(`${who}'s run queued`, async () => {
        const shown = await cliJson<RunDetail>(daemon.daemon, ['run', 'show', run.id]);
        return shown.status === 'queued' ? shown : undefined;
      });
      assert.equal(queued.startedAt, null, `${who}'s queued run has not started`);
      return { run, queued };
    };
    const { run: bobRun, queued: bobQueued } = await queue('bob', bob!);
    assert.match(bobQueued.waitingFor ?? '', /^waiting for alice's deploy of queued-shop \(run_alicealice, since /);
    const { run: carolRun, queued: carolQueued } = await queue('carol', carol!);
    assert.match(carolQueued.waitingFor ?? '', new RegExp(`^waiting for bob's deploy of queued-shop \\(${bobRun.id}, since `));
    const shownText = await cliOk(bob!.daemon, ['run', 'show', bobRun.id]);
    assert.match(shownText, /waiting\s+waiting for alice's deploy of queued-shop/);

    // Carol cancels hers while it waits: it ends cancelled and never runs.
    await cliOk(carol!.daemon, ['run', 'cancel', carolRun.id]);
    const cancelled = await eventually("carol's run ended", async () => {
      const shown = await cliJson<RunDetail>(carol!.daemon, ['run', 'show', carolRun.id]);
      return shown.status === 'queued' || shown.status === 'running' ? undefined : shown;
    });
    assert.equal(cancelled.status, 'cancelled');
    assert.doesNotMatch(await cliOk(carol!.daemon, ['run', 'log', carolRun.id]), /is free: the run starts/, "carol's run never got the project");
    const stillQueued = await cliJson<RunDetail>(bob!.daemon, ['run', 'show', bobRun.id]);
    assert.equal(stillQueued.status, 'queued', 'bob still waits while alice holds the project');

    const letGo = new Date().toISOString();
    finish();
    await alice;
    // Bob's run starts once alice let go (its target is no real server, so it then fails: what matters is that it ran).
    const ended = await eventually("bob's run ended", async () => {
      const shown = await cliJson<RunDetail>(bob!.daemon, ['run', 'show', bobRun.id]);
      return shown.status === 'queued' || shown.status === 'running' ? undefined : shown;
    });
    assert.notEqual(ended.status, 'cancelled');
    assert.doesNotMatch(ended.error ?? '', /busy|waiting for/, 'what ended it was not the lock');
    assert.ok(ended.startedAt !== null && ended.startedAt >= letGo, `bob's run started once alice let go (${letGo}), not when asked: ${String(ended.startedAt)}`);
    assert.ok(ended.createdAt < letGo, 'the time it was asked is kept in createdAt');
    assert.equal(ended.waitingFor, undefined, 'it waits for nobody any more');
    const log = await cliOk(bob!.daemon, ['run', 'log', bobRun.id]);
    assert.match(log, /waiting for alice's deploy of queued-shop/);
    assert.match(log, /queued-shop is free: the run starts/);
  });

  test("a change through alice's daemon reaches dave's client as a didChange, and dave's next list shows it", async () => {
    const [alice, , , dave] = daemons;
    const client = await dave!.daemon.connect('test');
    clients.push(client);
    const heard: string[][] = [];
    client.onNotification(AllocationsDidChange, (params) => heard.push(params.projects));
    await cliJson(alice!.daemon, ['allocate', '--project', 'told-shop', '--min-ram-mb', '1']);
    await eventually("dave's client told of alice's allocation", () => (heard.some((projects) => projects.includes('told-shop')) ? true : undefined));
    const listed = await cliJson<ListedAllocation[]>(dave!.daemon, ['allocation', 'list', '--project', 'told-shop']);
    assert.equal(listed.length, 1);
  });

  test('the audit log on any member names who did what', async () => {
    // Alice and dave each grant an agent something (an audited change), besides bob's and carol's deploys above.
    for (const member of ['alice', 'dave'] as const) {
      await cliJson(daemons[MEMBERS.indexOf(member)]!.daemon, ['agent', 'grant', '--project', `granted-by-${member}`, '--allow', 'restart', '--ttl', '1h']);
    }
    for (const daemon of daemons) {
      const entries = await cliJson<{ action: string; subject?: string; member?: string }[]>(daemon.daemon, ['audit', 'list', '--limit', '1000']);
      const deploy = entries.filter((entry) => entry.action === 'deploy' && entry.subject === 'queued-shop');
      assert.deepEqual(deploy.map((entry) => entry.member).sort(), ['bob', 'carol']);
      for (const member of ['alice', 'dave']) {
        const grants = entries.filter((entry) => entry.action === 'agent-grant' && entry.subject === `granted-by-${member}`);
        assert.deepEqual(grants.map((entry) => entry.member), [member]);
      }
      // The team database's password came from a PGPASSFILE and never shows in a member's log.
      assert.ok(!fs.readFileSync(path.join(daemon.daemon.home, 'daemon.log'), 'utf8').includes(login.password), 'no password in the daemon log');
    }
  });

  test("alice's whole deploy shows in bob's run list and reaches bob's client as runs/didChange", async () => {
    const [alice, bob] = daemons;
    // A real target: sshd on loopback with the fixture repository, reaching the run's real container engine (the `ufw`
    // test double on its PATH: the machine's firewall may not be changed).
    world = await setUpRealDeployWorld({ name: 'team-daemons', server: 'team_target' });
    const keyHandle = (await cliOk(alice!.daemon, ['secret', 'set', 'TEAM_TARGET_KEY', '--type', 'private_key'], world.sshd.clientKey.privateKeyPem)).trim();
    const { sshd } = world;
    await cliJson(alice!.daemon, ['server', 'add', 'team_target', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', keyHandle]);
    const checked = await cliJson<{ status: string; lastCheckError?: string | null }>(alice!.daemon, ['server', 'check', 'team_target']);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'server check failed');
    // The team's two other servers are full now, so the deploy's allocation lands on the target.
    await store.transaction((tx) => tx.run("UPDATE servers SET available_ram_mb = 0 WHERE handle IN ('srv_team_a', 'srv_team_b')"));
    const project = world.newProject('teamseen');
    for (const [name, type] of [['API_TOKEN', 'token'], ['WEBHOOK_SECRET', 'text']] as const) {
      await cliOk(alice!.daemon, ['secret', 'set', name, '--type', type, '--project', project], `${name.toLowerCase()} of the team deploy test`);
    }

    const client = await bob!.daemon.connect('test');
    clients.push(client);
    const heard: { id: string; project: string; status: string }[] = [];
    client.onNotification(RunsDidChange, (params) => heard.push(params));

    const { run } = await deployAndWait({ ...world, daemon: alice!.daemon }, project);
    assert.equal(run.allocation?.server, 'team_target');
    const told = await eventually("bob's client told of alice's finished run", () => heard.find((change) => change.id === run.id && change.status === 'succeeded'));
    assert.equal(told.project, project);
    const listed = await cliJson<RunSummary[]>(bob!.daemon, ['run', 'list', '--project', project]);
    assert.deepEqual(
      listed.map((summary) => [summary.id, summary.status]),
      [[run.id, 'succeeded']],
      "bob's run list shows alice's run as it ended",
    );
    const shown = await cliJson<RunDetail>(bob!.daemon, ['run', 'show', run.id]);
    assert.equal(shown.releaseId, run.releaseId, 'with the release it recorded');
  });
});
