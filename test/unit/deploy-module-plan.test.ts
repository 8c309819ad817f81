/**
 * The deploy's module plan (`deploy/plan`): the modules the compose files publish with their allocations, the
 * allocated modules a successful deploy releases, and what a folder without compose files or published ports is told.
 * Then what a successful deploy does with those retired modules: released, said in the run log, audited, their
 * firewall rule named.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { deployModuleNames, narrowTarget, planModules, releasePorts, withoutRouted } from '../../daemon/deploy/modulePlan.js';
import type { DeployTarget } from '../../daemon/deploy/ports.js';
import { firewallOutcomes, releaseRetiredModules } from '../../daemon/deploy/retiredModules.js';
import type { RunLog } from '../../daemon/deploy/runLog.js';
import type { RunRecord } from '../../daemon/deploy/runStore.js';
import { deployTargetsFrom } from '../../daemon/wiring/deploy.js';
import { type TestInventory, openTestInventory } from './allocationSupport.js';

const folders: string[] = [];

function project(files: Readonly<Record<string, string>>): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-module-plan-'));
  folders.push(folder);
  for (const [relative, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(folder, relative)), { recursive: true });
    fs.writeFileSync(path.join(folder, relative), text);
  }
  return folder;
}

afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

const BASE = 'services:\n  backend: {image: a}\n  admin: {image: b}\n  worker: {image: c}\n';
const PROD = 'services:\n  backend:\n    ports: ["${PORT}:8000"]\n  admin:\n    ports:\n      - "${ADMIN_PORT}:80"\n';

const target: DeployTarget = {
  server: 'prod_vps_1',
  host: '192.0.2.10',
  sshPort: 22,
  sshUser: 'root',
  sshKeySecret: 'sec_key',
  hostKeyFingerprint: null,
  port: 8000,
  modulePorts: { admin: 8001, app: 8000, worker: 8003 },
};

describe('the modules a deploy runs', () => {
  test('the compose modules, or app alone when the compose files publish none', () => {
    assert.deepEqual(deployModuleNames([{ name: 'admin' }, { name: 'app' }]), ['admin', 'app']);
    assert.deepEqual(deployModuleNames([]), ['app']);
  });

  test('the target keeps only the modules the deploy runs; the others are retired with their server and port', () => {
    const { target: narrowed, retired } = narrowTarget(target, ['admin', 'app']);
    assert.deepEqual(narrowed.modulePorts, { admin: 8001, app: 8000 });
    assert.equal(narrowed.port, 8000);
    assert.deepEqual(retired, [{ module: 'worker', server: 'prod_vps_1', port: 8003 }]);
    // Without app, the main port is the first module's that the deploy runs.
    assert.equal(narrowTarget(target, ['worker']).target.port, 8003);
  });

  test('a retired module a domain still routes to stays allocated', () => {
    const unpublished = [
      { module: 'admin', server: 'prod_vps_1', port: 8001 },
      { module: 'worker', server: 'prod_vps_1', port: 8003 },
    ];
    const routed = [
      { module: 'admin', domain: 'admin.example.com', slotPort: 8010 },
      { module: 'app', domain: 'shop.example.com', slotPort: 8011 },
    ];
    assert.deepEqual(withoutRouted(unpublished, routed), {
      retired: [{ module: 'worker', server: 'prod_vps_1', port: 8003 }],
      routedTo: [{ module: 'admin', domain: 'admin.example.com' }],
    });
  });

  test('a rollback runs its release on the ports its modules have now; the main port follows its module', () => {
    const recorded = { port: 8000, modulePorts: { app: 8000, worker: 8003 } };
    // worker was released and allocated again on another port.
    assert.deepEqual(releasePorts(recorded, { ...target, modulePorts: { app: 8000, worker: 8005 } }), { port: 8000, modulePorts: { app: 8000, worker: 8005 } });
    assert.deepEqual(releasePorts({ port: 8003, modulePorts: { worker: 8003 } }, { ...target, modulePorts: { worker: 8007 } }), { port: 8007, modulePorts: { worker: 8007 } });
  });
});

describe('deploy/plan: the modules of a project folder and their allocations', () => {
  let t: TestInventory;
  beforeEach(async () => {
    t = await openTestInventory();
    await t.addReady('one', { ramMb: 8000 });
  });
  afterEach(() => t.close());
  const vault = { has: () => Promise.resolve(true), get: () => Promise.resolve({ hasPassphrase: false }) } as unknown as Parameters<typeof deployTargetsFrom>[2];

  test('each published module with its service, port and allocation; an allocated module no longer published is retired', async () => {
    const folder = project({ 'infra/compose.base.yml': BASE, 'infra/compose.prod.yml': PROD });
    const targets = deployTargetsFrom(t.inventory, t.allocator, vault);
    const before = planModules(folder, 'shop', await targets.allocationsOf('shop'));
    assert.deepEqual(before.composeFiles, ['infra/compose.base.yml', 'infra/compose.prod.yml']);
    assert.deepEqual(
      before.modules.map((module) => [module.name, module.service, module.containerPort, module.portVariable, module.file, module.line, module.allocation]),
      [
        ['admin', 'admin', 80, 'ADMIN_PORT', 'infra/compose.prod.yml', 6, undefined],
        ['app', 'backend', 8000, 'PORT', 'infra/compose.prod.yml', 3, undefined],
      ],
    );
    assert.deepEqual(before.retired, []);
    assert.equal(before.notice, undefined);
    assert.deepEqual(await t.allocator.list('shop'), [], 'planning allocates nothing');

    await t.allocator.allocate({ project: 'shop', modules: ['app', 'worker'], minRamMb: 256, minDiskMb: 0 });
    const after = planModules(folder, 'shop', await targets.allocationsOf('shop'));
    assert.deepEqual(after.modules.find((module) => module.name === 'app')?.allocation, { server: 'one', port: 8000 });
    assert.equal(after.modules.find((module) => module.name === 'admin')?.allocation, undefined, 'admin: the deploy allocates it');
    assert.deepEqual(after.retired, [{ module: 'worker', server: 'one', port: 8001 }]);
  });

  test('a folder without compose files is told which files a deploy runs', () => {
    const plan = planModules(project({ '.env.example': 'A=1\n' }), 'shop', []);
    assert.deepEqual(plan.modules, []);
    assert.equal(plan.notice?.kind, 'no-compose-file');
    assert.match(plan.notice.message, /a deploy runs infra\/compose\.base\.yml and infra\/compose\.prod\.yml/);
  });

  test('compose files that publish no port on a variable: the default app, and what to write', () => {
    const plan = planModules(project({ 'infra/compose.base.yml': 'services:\n  web:\n    image: a\n    ports: ["8080:80"]\n' }), 'shop', [
      { module: 'app', server: 'one', port: 8000 },
      { module: 'admin', server: 'one', port: 8001 },
    ]);
    assert.equal(plan.notice?.kind, 'no-published-port');
    assert.match(plan.notice.message, /publishes no port on a variable/);
    assert.match(plan.notice.message, /ports: \["\$\{PORT\}:8000"\]/);
    assert.deepEqual(plan.modules.map((module) => [module.name, module.service, module.allocation]), [['app', '', { server: 'one', port: 8000 }]]);
    assert.deepEqual(plan.retired, [{ module: 'admin', server: 'one', port: 8001 }]);
  });

  test('a compose file Zavhoz cannot read is an error with its file and line', () => {
    const folder = project({ 'infra/compose.base.yml': 'services:\n  web:\n    ports: ["${LISTEN}:80"]\n' });
    assert.throws(() => planModules(folder, 'shop', []), /compose\.base\.yml:3: service web publishes on \$\{LISTEN\}/);
  });
});

describe('a successful deploy releases the modules its compose files no longer publish', () => {
  let t: TestInventory;
  beforeEach(async () => {
    t = await openTestInventory();
    await t.addReady('prod_vps_1', { ramMb: 8000 });
  });
  afterEach(() => t.close());
  const vault = { has: () => Promise.resolve(true), get: () => Promise.resolve({ hasPassphrase: false }) } as unknown as Parameters<typeof deployTargetsFrom>[2];
  const run = { id: 'run_aaaaaaaaaa', project: 'shop', client: 'cli', requestId: 'req-1' } as RunRecord;

  test('each is released, said in the run log with its port and firewall rule, and audited', async () => {
    await t.allocator.allocate({ project: 'shop', modules: ['app', 'worker', 'admin'], minRamMb: 256, minDiskMb: 0 });
    const targets = deployTargetsFrom(t.inventory, t.allocator, vault);
    const audit = new AuditLog(t.database);
    const notes: string[] = [];
    const log = { note: (line: string) => notes.push(line) } as unknown as RunLog;
    const report = { commit: 'a'.repeat(40), images: [], firewall_closed: ['closed 8001', 'error ERROR: You need to be root to run this script'] };
    await releaseRetiredModules({ targets, audit }, run, [
      { module: 'worker', server: 'prod_vps_1', port: 8001 },
      { module: 'admin', server: 'prod_vps_1', port: 8002 },
    ], report, log);
    assert.deepEqual((await t.allocator.list('shop')).map((allocation) => allocation.module), ['app']);
    assert.equal(notes[0], 'released module worker: port 8001 on prod_vps_1; UFW rule 8001/tcp deleted');
    assert.match(notes[1] ?? '', /^released module admin: port 8002 on prod_vps_1; its UFW rule could not be deleted \(ERROR: You need to be root.*\): on the server run sudo ufw delete allow 8002\/tcp$/);
    const entries = await audit.list({ limit: 10 });
    const released = entries.filter((entry) => entry.action === 'module-release');
    assert.deepEqual(released.map((entry) => [entry.subject, entry.detail.module, entry.detail.port, entry.detail.server, entry.detail.run]).sort(), [
      ['shop', 'admin', 8002, 'prod_vps_1', 'run_aaaaaaaaaa'],
      ['shop', 'worker', 8001, 'prod_vps_1', 'run_aaaaaaaaaa'],
    ]);
    // Released by hand meanwhile: nothing to do, said so.
    await releaseRetiredModules({ targets, audit }, run, [{ module: 'worker', server: 'prod_vps_1', port: 8001 }], report, log);
    assert.match(notes[2] ?? '', /module worker was no longer allocated/);
  });

  test('the firewall lines of the report, by port', () => {
    const outcome = firewallOutcomes({ firewall_closed: ['closed 8003', 'absent 8004'] });
    assert.equal(outcome(8003), 'closed');
    assert.equal(outcome(8004), 'absent');
    assert.equal(outcome(8005), undefined);
    assert.equal(firewallOutcomes({ firewall_closed: ['notinstalled'] })(8003), 'no-ufw');
    assert.equal(firewallOutcomes(undefined)(8003), undefined);
  });
});
