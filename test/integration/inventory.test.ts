/**
 * The inventory end to end: a real daemon process, the real vault on a private keychain, and real sshd servers on
 * loopback. Servers are added, health-checked over SSH with the vault key, their host keys pinned, changed keys
 * refused until accepted, ghosts kept away from automation, and projects allocated through the CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isResponseError } from '../../daemon/client/client.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { AuditList } from '../../daemon/protocol/audit.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { ServersDidChange, type ServerInfo } from '../../daemon/protocol/servers.js';
import { ShellClose, ShellOpen } from '../../daemon/protocol/shell.js';
import { cliJson, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';

/** Listens on a TCP port of 127.0.0.1 from 8000 up (the first that is free) and returns the server and its port. */
async function listenFrom8000(): Promise<{ server: net.Server; port: number }> {
  for (let port = 8000; port < 8100; port++) {
    const server = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) return { server, port };
  }
  throw new Error('no free port between 8000 and 8100');
}

describe('inventory: servers, health checks and host keys against a real sshd', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let otherSshd: SshdServer;
  let daemon: TestDaemon;
  let keyHandle: string;

  before(async () => {
    keyring = await startKeyring();
    sshd = await startSshd();
    // The same host answering on another port with its own host key (as after a reinstall), same client key.
    otherSshd = await startSshd({ authorizedKeys: [sshd.clientKey.publicKey], host: sshd.host });
    daemon = await startTestDaemon({ env: keyring.env });
    const stored = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'PROD_SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    keyHandle = stored.handle;
    // Periodic checks would race the assertions below; these tests drive checks by hand.
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await daemon?.dispose();
    await Promise.all([sshd?.stop(), otherSshd?.stop()]);
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('a server added by hand is discovered until a check reaches it; the check pins the host key and reads capacity', async () => {
    const added = await cliJson<ServerInfo>(daemon, [
      'server', 'add', 'prod_vps_1', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user,
      '--ssh-key-secret', keyHandle, '--label', 'eu',
    ]);
    assert.equal(added.status, 'discovered');
    assert.equal(added.sshKeySecret, keyHandle);
    assert.equal(added.hostKeyFingerprint, null);

    const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', 'prod_vps_1']);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? '');
    assert.equal(checked.hostKeyFingerprint, sshd.hostKeyFingerprint);
    assert.ok((checked.availableRamMb ?? 0) > 0, 'free RAM read from /proc/meminfo');
    assert.ok((checked.availableDiskMb ?? 0) > 0, 'free disk read from df');
    assert.ok((checked.ramMb ?? 0) >= (checked.availableRamMb ?? 0), 'capacity filled from MemTotal');
    assert.ok(checked.listeningPorts.includes(sshd.port), `the sshd port is seen listening: ${checked.listeningPorts.join(',')}`);
    assert.deepEqual(checked.labels, ['eu']);

    const human = await daemon.cli(['server', 'list']);
    assert.match(human.stdout, /prod_vps_1\s+ready/);
  });

  test('the SSH key stays in the keychain: not in the store, the log, or any answer', async () => {
    const keyBody = sshd.clientKey.privateKeyPem.split('\n')[1] ?? '';
    assert.ok(keyBody.length > 20);
    const shown = await daemon.cli(['server', 'show', 'prod_vps_1', '--json']);
    assert.ok(!shown.stdout.includes(keyBody));
    const paths = dataPaths(daemon.home);
    for (const file of [paths.log, paths.journal, paths.database]) {
      if (fs.existsSync(file)) assert.ok(!fs.readFileSync(file, 'latin1').includes(keyBody), `${file} holds no key material`);
    }
  });

  test('a changed host key is refused with both fingerprints until the user accepts it', async () => {
    // The same server answering with a new host key: as after a reinstall, or an interception.
    await cliJson(daemon, ['server', 'update', 'prod_vps_1', '--ssh-port', String(otherSshd.port)]);
    const refused = await daemon.cli(['server', 'check', 'prod_vps_1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\[HostKeyMismatch\]/);
    assert.ok(refused.stderr.includes(sshd.hostKeyFingerprint), 'the old fingerprint is shown');
    assert.ok(refused.stderr.includes(otherSshd.hostKeyFingerprint), 'the new fingerprint is shown');
    assert.match(refused.stderr, /zavhoz server accept-host-key prod_vps_1/);

    const shown = await cliJson<ServerInfo>(daemon, ['server', 'show', 'prod_vps_1']);
    assert.equal(shown.status, 'unreachable');
    assert.equal(shown.hostKeyFingerprint, sshd.hostKeyFingerprint, 'the pin is unchanged');
    assert.equal(shown.offeredHostKeyFingerprint, otherSshd.hostKeyFingerprint);

    const accepted = await cliJson<{ previous: string; accepted: string }>(daemon, ['server', 'accept-host-key', 'prod_vps_1']);
    assert.deepEqual({ previous: accepted.previous, accepted: accepted.accepted }, {
      previous: sshd.hostKeyFingerprint,
      accepted: otherSshd.hostKeyFingerprint,
    });
    const now = await cliJson<ServerInfo>(daemon, ['server', 'check', 'prod_vps_1']);
    assert.equal(now.status, 'ready');
    assert.equal(now.hostKeyFingerprint, otherSshd.hostKeyFingerprint);
    assert.equal(now.offeredHostKeyFingerprint, null);

    // Back to the first server: its key is no longer the pinned one, so it is refused in turn.
    await cliJson(daemon, ['server', 'update', 'prod_vps_1', '--ssh-port', String(sshd.port)]);
    assert.match((await daemon.cli(['server', 'check', 'prod_vps_1'])).stderr, /\[HostKeyMismatch\]/);
    await cliJson(daemon, ['server', 'accept-host-key', 'prod_vps_1']);
    assert.equal((await cliJson<ServerInfo>(daemon, ['server', 'check', 'prod_vps_1'])).status, 'ready');

    const audit = await daemon.cli(['audit', 'list', '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /accept-host-key/);
  });

  test('a server nobody answers for is marked unreachable with the reason', async () => {
    const closed = await listenFrom8000();
    const port = closed.port;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    await cliJson(daemon, ['server', 'add', 'dead_box', '--host', '127.0.0.1', '--ssh-port', String(port), '--ssh-key-secret', keyHandle]);
    const result = await daemon.cli(['server', 'check', 'dead_box']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Nothing answers on 127\.0\.0\.1:\d+ \(ECONNREFUSED\).*\[Unreachable\]/);
    const shown = await cliJson<ServerInfo>(daemon, ['server', 'show', 'dead_box']);
    assert.equal(shown.status, 'unreachable');
    assert.match(shown.lastCheckError ?? '', /ECONNREFUSED/);
    assert.equal((await daemon.cli(['server', 'remove', 'dead_box'])).code, 0);
  });

  test('allocate skips ports seen listening, is idempotent, and adds only new modules', async () => {
    const busy = await listenFrom8000();
    try {
      await cliJson(daemon, ['server', 'check', 'prod_vps_1']);
      const first = await cliJson<{ project: string; server: string; allocations: { module: string; server: string; port: number }[] }>(daemon, [
        'allocate', '--project', 'shop', '--modules', 'backend,tg-bot', '--min-ram-mb', '64', '--min-disk-mb', '16',
      ]);
      assert.equal(first.server, 'prod_vps_1');
      const ports = first.allocations.map((allocation) => allocation.port);
      assert.ok(!ports.includes(busy.port), `port ${busy.port} is listening and must not be handed out (${ports.join(',')})`);
      assert.ok(ports.every((port) => port >= 8000));
      assert.equal(new Set(ports).size, 2);

      const again = await cliJson<typeof first>(daemon, ['allocate', '--project', 'shop', '--modules', 'backend,tg-bot,worker', '--min-ram-mb', '64']);
      assert.equal(again.server, 'prod_vps_1');
      assert.deepEqual(again.allocations.slice(0, 2), first.allocations.slice(0, 2).sort((a, b) => a.module.localeCompare(b.module)));
      assert.deepEqual((again as unknown as { created: string[] }).created, ['worker']);

      const listed = await cliJson<{ project: string; module: string }[]>(daemon, ['allocation', 'list', '--project', 'shop']);
      assert.deepEqual(listed.map((allocation) => allocation.module), ['backend', 'tg-bot', 'worker']);
      const server = await cliJson<ServerInfo>(daemon, ['server', 'show', 'prod_vps_1']);
      assert.equal(server.status, 'in_use');
      assert.equal(server.reservedRamMb, 192);

      const removal = await daemon.cli(['server', 'remove', 'prod_vps_1']);
      assert.equal(removal.code, 1);
      assert.match(removal.stderr, /hosts 3 allocated module\(s\).*--force/);
      const released = await cliJson<{ released: unknown[] }>(daemon, ['allocation', 'release', '--project', 'shop', '--module', 'worker']);
      assert.equal(released.released.length, 1);
    } finally {
      await new Promise<void>((resolve) => busy.server.close(() => resolve()));
    }
  });

  test('ghost servers are listed only with --all and never offered to automation', async () => {
    await cliJson(daemon, ['server', 'add', 'my_laptop', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', keyHandle]);
    await cliJson(daemon, ['server', 'check', 'my_laptop']);
    await cliJson(daemon, ['config', 'set', 'ghostServers', '["my_laptop"]']);
    const managed = await cliJson<ServerInfo[]>(daemon, ['server', 'list']);
    assert.ok(!managed.some((server) => server.handle === 'my_laptop'));
    const all = await cliJson<ServerInfo[]>(daemon, ['server', 'list', '--all']);
    assert.equal(all.find((server) => server.handle === 'my_laptop')?.managed, false);
    assert.match((await daemon.cli(['server', 'list', '--all'])).stdout, /my_laptop \(ghost\)/);

    // Both are the same machine; blog reserves half of prod_vps_1's free RAM, so the laptop would win were it managed.
    const prod = await cliJson<ServerInfo>(daemon, ['server', 'check', 'prod_vps_1']);
    const half = String(Math.floor((prod.availableRamMb ?? 0) / 2));
    const placed = await cliJson<{ server: string }>(daemon, ['allocate', '--project', 'blog', '--min-ram-mb', half, '--min-disk-mb', '1']);
    assert.equal(placed.server, 'prod_vps_1');
    await cliJson(daemon, ['server', 'manage', 'my_laptop']);
    // A fresh reading, close in time to prod_vps_1's: the file running beside this one moves free RAM by gigabytes.
    await cliJson(daemon, ['server', 'check', 'my_laptop']);
    const next = await cliJson<{ server: string }>(daemon, ['allocate', '--project', 'wiki', '--min-ram-mb', '1', '--min-disk-mb', '1']);
    assert.equal(next.server, 'my_laptop');
    const ghosted = await daemon.cli(['server', 'ghost', 'my_laptop']);
    assert.equal(ghosted.code, 1);
    assert.match(ghosted.stderr, /--force/);
  });

  test('the periodic health check re-reads managed servers and tells connected clients', async () => {
    const before = await cliJson<ServerInfo>(daemon, ['server', 'show', 'prod_vps_1']);
    const client = await daemon.connect('watcher');
    try {
      const announced = new Promise<void>((resolve) => {
        client.onNotification(ServersDidChange, (params) => {
          if (params.handles.includes('prod_vps_1')) resolve();
        });
      });
      await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '1']);
      await announced;
      await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    } finally {
      client.close();
    }
    const after = await cliJson<ServerInfo>(daemon, ['server', 'show', 'prod_vps_1']);
    assert.ok((after.lastCheckAt ?? '') > (before.lastCheckAt ?? ''), 'checked again');
    assert.equal(after.status, 'in_use');
  });

  test('no suitable server: the CLI says which constraint failed where', async () => {
    const result = await daemon.cli(['allocate', '--project', 'huge', '--min-ram-mb', '900000']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /No server can take project huge.*my_laptop: it has \d+ MB RAM free after reservations \(needs 900000 MB\).*\[PreconditionFailed\]/);
  });

  test('SSH for automation refuses a server with no pinned host key, and a ghost server, before the key leaves the vault', async () => {
    const reach = ['--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', keyHandle];
    await cliJson(daemon, ['server', 'add', 'fresh_box', ...reach]);
    await cliJson(daemon, ['server', 'add', 'ghost_box', ...reach]);
    // Checked first, so its host key is pinned and being a ghost is the only reason left to refuse it.
    await cliJson(daemon, ['server', 'check', 'ghost_box']);
    await cliJson(daemon, ['server', 'ghost', 'ghost_box']);
    const client = await daemon.connect('vscode');
    const keyLoans = async (server: string): Promise<number> =>
      (await client.request(AuditList, { limit: 10_000 })).entries.filter((entry) => entry.action === 'ssh-terminal' && entry.detail.server === server).length;
    try {
      await assert.rejects(client.request(ShellOpen, { server: 'fresh_box', cols: 80, rows: 24 }), (error) => {
        assert.ok(isResponseError(error, ErrorCodes.PreconditionFailed), String(error));
        assert.match(error.message, /Server fresh_box has no pinned host key yet\. Run `zavhoz server check fresh_box` once to record it\./);
        return true;
      });
      await assert.rejects(client.request(ShellOpen, { server: 'ghost_box', cols: 80, rows: 24 }), (error) => {
        assert.ok(isResponseError(error, ErrorCodes.PreconditionFailed), String(error));
        assert.match(error.message, /Server ghost_box is a ghost server \(not managed\); automation does not touch it\. Run `zavhoz server manage ghost_box`/);
        return true;
      });
      assert.equal(await keyLoans('fresh_box'), 0, 'no key was lent for the unpinned server');
      assert.equal(await keyLoans('ghost_box'), 0, 'no key was lent for the ghost server');

      // Pinning the host key was all fresh_box lacked.
      await cliJson(daemon, ['server', 'check', 'fresh_box']);
      const opened = await client.request(ShellOpen, { server: 'fresh_box', cols: 80, rows: 24 });
      await client.request(ShellClose, { session: opened.session });
      assert.equal(await keyLoans('fresh_box'), 1);
    } finally {
      client.close();
    }
  });
});
