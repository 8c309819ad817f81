/**
 * 1,000 allocation requests from 10 clients at once against a real daemon: servers checked over real SSH, the
 * requests overlapping on the same projects with different module lists. No (server, port) may be handed out twice,
 * no project may end up on two servers, and every answer must agree with the final table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DaemonClient } from '../../daemon/client/client.js';
import { type AllocateResult, AllocationsAllocate, AllocationsList } from '../../daemon/protocol/allocations.js';
import { ServersAdd, ServersCheck } from '../../daemon/protocol/servers.js';
import { type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';

const CLIENTS = 10;
const REQUESTS = 1000;
const PROJECTS = 150;
const MODULE_SETS = [['web'], ['web', 'api'], ['api', 'bot'], ['worker'], ['web', 'api', 'bot', 'worker']];

describe('allocation under concurrency', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  const clients: DaemonClient[] = [];

  before(async () => {
    keyring = await startKeyring();
    sshd = await startSshd();
    daemon = await startTestDaemon({ env: keyring.env });
    const stored = await daemon.cli(['secret', 'set', 'FLEET_KEY', '--type', 'private_key', '--json'], { input: sshd.clientKey.privateKeyPem });
    assert.equal(stored.code, 0, stored.stderr);
    const keySecret = (JSON.parse(stored.stdout) as { handle: string }).handle;
    for (let index = 0; index < CLIENTS; index++) clients.push(await daemon.connect(`load${index}`));
    const admin = clients[0] as DaemonClient;
    // Four inventory entries reaching the same sshd: four servers as far as allocation is concerned.
    for (const handle of ['fleet_a', 'fleet_b', 'fleet_c', 'fleet_d']) {
      await admin.request(ServersAdd, { handle, host: sshd.host, sshPort: sshd.port, sshUser: sshd.user, sshKeySecret: keySecret, labels: [] });
      const checked = await admin.request(ServersCheck, { handle });
      assert.equal(checked.status, 'ready', checked.lastCheckError ?? '');
    }
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    for (const client of clients) client.close();
    await daemon?.dispose();
    await sshd?.stop();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test(`${REQUESTS} requests from ${CLIENTS} clients: no duplicate (server, port), no project split`, async () => {
    const requests = Array.from({ length: REQUESTS }, (_, index) => {
      const client = clients[index % CLIENTS] as DaemonClient;
      const project = `p${(index * 7) % PROJECTS}`;
      // Each project is asked for several times, with every module set, by different clients.
      const modules = MODULE_SETS[Math.floor(index / PROJECTS) % MODULE_SETS.length] as string[];
      return client.request(AllocationsAllocate, { project, modules, minRamMb: 8, minDiskMb: 1 });
    });
    const answers: AllocateResult[] = await Promise.all(requests);

    // Every page: 150 projects' modules are more rows than one page holds.
    const allocations = await (clients[0] as DaemonClient).listAll(AllocationsList, {}, (page) => page.allocations);
    const places = allocations.map((allocation) => `${allocation.server}:${allocation.port}`);
    assert.equal(new Set(places).size, places.length, 'every (server, port) is handed out once');
    const keys = allocations.map((allocation) => `${allocation.project}/${allocation.module}`);
    assert.equal(new Set(keys).size, keys.length, 'every module is allocated once');

    const serverOf = new Map<string, Set<string>>();
    for (const allocation of allocations) {
      const servers = serverOf.get(allocation.project) ?? new Set<string>();
      servers.add(allocation.server);
      serverOf.set(allocation.project, servers);
    }
    assert.equal(serverOf.size, PROJECTS);
    for (const [project, servers] of serverOf) assert.equal(servers.size, 1, `${project} is on ${[...servers].join(', ')}`);

    const final = new Map(allocations.map((allocation) => [`${allocation.project}/${allocation.module}`, `${allocation.server}:${allocation.port}`]));
    for (const answer of answers) {
      assert.equal(answer.server, [...(serverOf.get(answer.project) ?? [])][0], `the answer for ${answer.project} names its one server`);
      for (const allocation of answer.allocations) {
        assert.equal(final.get(`${allocation.project}/${allocation.module}`), `${allocation.server}:${allocation.port}`, 'answers agree with the table');
      }
    }
    // Every module any request asked for exists: 5 module sets cover web, api, bot and worker for each project.
    assert.equal(allocations.length, PROJECTS * 4);
    const used = new Set(allocations.map((allocation) => allocation.server));
    assert.ok(used.size > 1, 'projects spread over the servers by free RAM');
  });
});
