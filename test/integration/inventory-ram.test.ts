/**
 * Free RAM is shown against the total of the same source. A server found by a provider (the Time4VPS test double on
 * loopback) carries the provider's plan figure; its health check (a real sshd on this machine, through a real daemon
 * and the real vault) reads /proc/meminfo, and from then on the listing shows the probe's MemAvailable against the
 * probe's MemTotal: never "22748 of 4096 MB free" (this machine's free RAM against the plan's total).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { AGENT_CLIENT_NAME, runTool } from '../../daemon/agent/catalogue.js';
import { AgentDaemonLink } from '../../daemon/agent/link.js';
import { DaemonClient } from '../../daemon/client/client.js';
import { parseMeminfo } from '../../daemon/inventory/probe.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { type FakeTime4vps, makeServers, startFakeTime4vps } from '../fakes/time4vps.js';
import { cliJson, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';

const LOGIN = 'api-user@example.test';
const PASSWORD = 'correct horse battery staple';
const PLAN_RAM_MB = 4096;

describe('server RAM and disk: free and total from the same source', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let fake: FakeTime4vps;
  let daemon: TestDaemon;
  let link: AgentDaemonLink;
  const handle = 'time4vps_1000';

  const listed = async (): Promise<string> => {
    const outcome = await runTool('zavhoz_list_managed_servers', {}, { daemon: link, frontEnd: 'mcp', defaults: {} }, new AbortController().signal);
    assert.equal(outcome.isError, false, outcome.text);
    return outcome.text;
  };
  /** This machine's MemTotal: the test sshd runs here, so its probe reads the same /proc/meminfo. */
  const memTotalMb = (): number => parseMeminfo(fs.readFileSync('/proc/meminfo', 'utf8')).totalMb ?? 0;
  /** This machine's `/` size in MB as `df -Pm /` prints it, which the probe reads. */
  const dfRootTotalMb = (): number => Number(execFileSync('df', ['-Pm', '/'], { encoding: 'utf8' }).trim().split('\n')[1]?.split(/\s+/)[1]);

  before(async () => {
    keyring = await startKeyring();
    sshd = await startSshd();
    const [server] = makeServers(1);
    assert.ok(server);
    server.ip = sshd.host;
    server.ram_mb = PLAN_RAM_MB;
    fake = await startFakeTime4vps({ login: LOGIN, password: PASSWORD, servers: [server] });
    daemon = await startTestDaemon({ env: keyring.env });
    const login = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'T4V_LOGIN', '--type', 'text', '--category', 'provider'], LOGIN);
    const password = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'T4V_PASSWORD', '--type', 'password', '--category', 'provider'], PASSWORD);
    for (const [key, value] of [
      ['healthCheckIntervalSeconds', '0'],
      ['syncIntervalSeconds', '0'],
      ['time4vpsApiBase', JSON.stringify(fake.url)],
      ['time4vpsLoginSecret', login.handle],
      ['time4vpsPasswordSecret', password.handle],
    ] as const) {
      await cliJson(daemon, ['config', 'set', key, value]);
    }
    link = new AgentDaemonLink(() => DaemonClient.connect({ folder: daemon.home, clientName: AGENT_CLIENT_NAME }));
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    link?.close();
    await daemon?.dispose();
    await fake?.stop();
    await sshd?.stop();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('before any check: the provider\'s total and no free figure', async () => {
    await cliJson(daemon, ['server', 'sync']);
    const found = await cliJson<ServerInfo>(daemon, ['server', 'show', handle]);
    assert.deepEqual([found.ramMb, found.availableRamMb], [PLAN_RAM_MB, null]);
    assert.match(await listed(), new RegExp(`RAM ${PLAN_RAM_MB} MB total \\(free not measured yet\\)`));
  });

  test('after a check: the probe\'s free RAM against the probe\'s MemTotal, also after the provider changes the server', async () => {
    const key = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    await cliJson(daemon, ['server', 'update', handle, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key.handle]);
    const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', handle]);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? '');
    assert.equal(checked.ramMb, memTotalMb(), 'the total is the probe\'s MemTotal, not the plan\'s figure');
    assert.ok(checked.availableRamMb !== null && checked.availableRamMb > 0 && checked.availableRamMb <= checked.ramMb);
    assert.match(await listed(), new RegExp(`RAM ${checked.availableRamMb} of ${memTotalMb()} MB free`));
    const table = await daemon.cli(['server', 'list']);
    assert.doesNotMatch(table.stdout, new RegExp(`free / ${PLAN_RAM_MB} MB`), table.stdout);
    // Disk likewise: the probe's `df -Pm /` total beside its free figure, not the plan's disk size.
    assert.equal(checked.diskMb, dfRootTotalMb(), 'the disk total is the probe\'s, not the plan\'s');
    assert.ok(checked.availableDiskMb !== null && checked.availableDiskMb <= checked.diskMb);

    // The provider reports a change (a new name): its details are fetched again, the measured total stays.
    const server = fake.servers.get(1000);
    assert.ok(server);
    server.name = 'vps-renamed';
    const sync = await cliJson<{ updated: string[] }>(daemon, ['server', 'sync']);
    assert.deepEqual(sync.updated, [handle]);
    const synced = await cliJson<ServerInfo>(daemon, ['server', 'show', handle]);
    assert.deepEqual([synced.name, synced.ramMb, synced.availableRamMb], ['vps-renamed', checked.ramMb, checked.availableRamMb]);
    assert.equal(synced.diskMb, checked.diskMb, 'a re-sync keeps the measured disk total too');
  });

  test('a total typed in by hand drops the free figure until the next check measures both', async () => {
    const typed = await cliJson<ServerInfo>(daemon, ['server', 'update', handle, '--ram-mb', String(PLAN_RAM_MB)]);
    assert.deepEqual([typed.ramMb, typed.availableRamMb], [PLAN_RAM_MB, null]);
    assert.match(await listed(), new RegExp(`RAM ${PLAN_RAM_MB} MB total \\(free not measured yet\\)`));
    const typedDisk = await cliJson<ServerInfo>(daemon, ['server', 'update', handle, '--disk-mb', '81920']);
    assert.deepEqual([typedDisk.diskMb, typedDisk.availableDiskMb], [81920, null]);
    const checked = await cliJson<ServerInfo>(daemon, ['server', 'check', handle]);
    assert.equal(checked.ramMb, memTotalMb());
    assert.ok(checked.availableRamMb !== null && checked.availableRamMb <= memTotalMb());
    assert.equal(checked.diskMb, dfRootTotalMb());
    assert.ok(checked.availableDiskMb !== null);
  });
});
