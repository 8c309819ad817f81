import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { readComposeModules } from '../../daemon/deploy/composeModules.js';
import { acceptRequest } from '../../daemon/deploy/deployRequest.js';
import { catalogOf } from '../../daemon/deploy/envPlan.js';
import { readProjectTemplate } from '../../daemon/deploy/envTemplate.js';
import type { DeploySecrets } from '../../daemon/deploy/ports.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { DeployStart } from '../../daemon/protocol/runs.js';
import { deployTargetsFrom } from '../../daemon/wiring/deploy.js';
import { type TestInventory, openTestInventory } from './allocationSupport.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/project');

const folders: string[] = [];

/** A project folder holding `files` (path relative to the folder → text). */
function project(files: Readonly<Record<string, string>>): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-compose-'));
  folders.push(folder);
  for (const [relative, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(folder, relative)), { recursive: true });
    fs.writeFileSync(path.join(folder, relative), text);
  }
  return folder;
}

function refused(work: () => unknown, pattern: RegExp): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, ErrorCodes.InvalidInput);
    assert.match(error.message, pattern);
    return true;
  });
}

afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

const BASE = `services:
  backend:
    image: 127.0.0.1:5000/acme/backend:1
  admin:
    image: 127.0.0.1:5000/acme/admin:1
  bot:
    image: 127.0.0.1:5000/acme/bot:1
  db:
    image: postgres:16-alpine
    ports:
      - "5432:5432"
  cache:
    image: redis:7
    ports: ["6379"]
  worker:
    image: 127.0.0.1:5000/acme/backend:1
  debug:
    image: 127.0.0.1:5000/acme/debug:1
    profiles: [debug]
    ports: ["\${DEBUG_PORT}:9229"]
`;

const PROD = `services:
  backend:
    ports:
      - "\${PORT}:8000"
  admin:
    ports:
      - "127.0.0.1:\${ADMIN_PORT:-9000}:80/tcp"
  bot:
    ports:
      - target: 8080
        published: "\${TG_BOT_PORT}"
        protocol: tcp
`;

describe('modules from the compose files', () => {
  test('the fixture project: the service published on ${PORT} is the main module, app', () => {
    assert.deepEqual(readComposeModules(FIXTURE), [
      { name: 'app', service: 'backend', containerPort: 8000, portVariable: 'PORT', file: 'infra/compose.prod.yml', line: 9 },
    ]);
  });

  test('every service published on a port variable is a module; fixed, engine-chosen and profile-only ports are not', () => {
    const folder = project({ 'infra/compose.base.yml': BASE, 'infra/compose.prod.yml': PROD });
    assert.deepEqual(
      readComposeModules(folder).map(({ name, service, containerPort, portVariable, file, line }) => [name, service, containerPort, portVariable, `${file}:${line}`]),
      [
        ['admin', 'admin', 80, 'ADMIN_PORT', 'infra/compose.prod.yml:7'],
        ['app', 'backend', 8000, 'PORT', 'infra/compose.prod.yml:4'],
        ['tg-bot', 'bot', 8080, 'TG_BOT_PORT', 'infra/compose.prod.yml:10'],
      ],
    );
  });

  test('the override adds to the base; a port written in both is one module; POSTGRES_PORT keeps its own value', () => {
    const folder = project({
      'infra/compose.base.yml': 'services:\n  web:\n    image: a\n    ports: ["${PORT}:80"]\n  db:\n    image: postgres:16\n    ports: ["${POSTGRES_PORT}:5432"]\n',
      'infra/compose.prod.yml': 'services:\n  web:\n    ports: ["${PORT}:80"]\n  api:\n    image: b\n    ports: ["${API_PORT}:3000"]\n',
    });
    assert.deepEqual(
      readComposeModules(folder).map((module) => [module.name, module.service, `${module.file}:${module.line}`]),
      [
        ['api', 'api', 'infra/compose.prod.yml:6'],
        ['app', 'web', 'infra/compose.base.yml:4'],
      ],
    );
  });

  test('ports through a merge key or extends count, at the line of their service', () => {
    const folder = project({
      'infra/compose.base.yml': [
        'x-web: &web',
        '  image: a',
        '  ports: ["${WEB_PORT}:80"]',
        'services:',
        '  web:',
        '    <<: *web',
        '  base:',
        '    image: b',
        '    profiles: [never]',
        '    ports: ["${API_PORT}:3000"]',
        '  api:',
        '    extends: base',
        '    profiles: []',
        '',
      ].join('\n'),
    });
    assert.deepEqual(
      readComposeModules(folder).map((module) => [module.name, module.service, module.line]),
      [
        ['api', 'api', 11],
        ['web', 'web', 5],
      ],
    );
  });

  test('reading is deterministic: the same files give the same modules, whatever the order of the services', () => {
    const one = project({ 'infra/compose.base.yml': 'services:\n  b: {image: b, ports: ["${B_PORT}:1"]}\n  a: {image: a, ports: ["${A_PORT}:1"]}\n' });
    const two = project({ 'infra/compose.base.yml': 'services:\n  a: {image: a, ports: ["${A_PORT}:1"]}\n  b: {image: b, ports: ["${B_PORT}:1"]}\n' });
    assert.deepEqual(readComposeModules(one).map((module) => module.name), ['a', 'b']);
    assert.deepEqual(readComposeModules(two).map((module) => module.name), readComposeModules(one).map((module) => module.name));
  });

  test('what Zavhoz cannot read is refused with the file and line, and what to write instead', () => {
    const file = (text: string): string => project({ 'infra/compose.base.yml': text });
    const base = (folder: string): string => path.join(folder, 'infra/compose.base.yml');
    let folder = file('services:\n  web:\n    image: a\n    image: b\n    ports: ["${PORT}:80"]\n');
    refused(() => readComposeModules(folder), new RegExp(`^${escape(base(folder))}:4: not valid YAML \\(Map keys must be unique\\)`));
    folder = file('services:\n  web:\n    image: a\n    ports: "8000:80"\n');
    refused(() => readComposeModules(folder), new RegExp(`^${escape(base(folder))}:2: "ports" of service web must be a list`));
    folder = file('services:\n  web:\n    image: a\n    ports:\n      - "${WEB_LISTEN}:80"\n');
    refused(() => readComposeModules(folder), new RegExp(`^${escape(base(folder))}:5: service web publishes on \\$\\{WEB_LISTEN\\}.*Write "\\$\\{WEB_PORT\\}:80"`));
    folder = file('services:\n  web:\n    image: a\n    ports:\n      - "80${SUFFIX}:80"\n');
    refused(() => readComposeModules(folder), /:5: service web publishes on host port "80\$\{SUFFIX\}", which Zavhoz cannot allocate/);
    folder = file('services:\n  web:\n    image: a\n    ports:\n      - "${PORT}:http"\n');
    refused(() => readComposeModules(folder), /:5: a port of service web names container port "http", which is not a port number/);
    folder = file('services:\n  web:\n    image: a\n    ports:\n      - published: "${PORT}"\n');
    refused(() => readComposeModules(folder), /:5: a port of service web has no "target"/);
    folder = file('services:\n  web:\n    image: a\n    ports: ["${PORT}:80"]\n  api:\n    image: b\n    ports: ["${PORT}:3000"]\n');
    refused(() => readComposeModules(folder), new RegExp(`^${escape(base(folder))}:7: services web \\(\\$\\{PORT\\}, infra/compose.base.yml:4\\) and api \\(\\$\\{PORT\\}\\) both publish module app.*"\\$\\{API_PORT\\}:3000"`));
    folder = file('services:\n  - web\n');
    refused(() => readComposeModules(folder), /:2: "services" must be a mapping/);
  });

  test('compose files under other names are named in the error, with where a deploy looks for them', () => {
    for (const name of ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml', 'infra/docker-compose.yml']) {
      const folder = project({ [name]: 'services:\n  web: {image: a, ports: ["${PORT}:80"]}\n' });
      const pattern = new RegExp(`^${escape(path.join(folder, name))} is not a file a deploy runs: a deploy runs infra/compose.base.yml and infra/compose.prod.yml.*Move it to infra/compose.base.yml`);
      refused(() => readComposeModules(folder), pattern);
      refused(() => readProjectTemplate(folder), pattern);
    }
    const empty = project({ 'README.md': 'nothing to deploy\n' });
    refused(() => readComposeModules(empty), /^No compose file in .*: a deploy runs infra\/compose.base.yml and infra\/compose.prod.yml/);
  });
});

describe('a deploy allocates the modules of its compose files', () => {
  let t: TestInventory;
  beforeEach(async () => {
    t = await openTestInventory();
    await t.addReady('one', { ramMb: 8000, listening: [8001] });
    t.store.transaction((tx) => tx.run("UPDATE servers SET ssh_key_secret = 'sec_key' WHERE handle = 'one'"));
  });
  afterEach(() => t.close());

  const secrets = { catalog: () => Promise.resolve(catalogOf([])), expiresAt: () => Promise.resolve(null) } as unknown as DeploySecrets;
  const vault = { has: () => Promise.resolve(true), get: () => Promise.resolve({ hasPassphrase: false }) } as unknown as Parameters<typeof deployTargetsFrom>[2];
  const accept = async (folder: string, extra: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof acceptRequest>>> => {
    const { wait: _wait, confirmed: _confirmed, ...request } = DeployStart.params.parse({ folder, project: 'shop', repository: 'acme/shop', ...extra });
    return acceptRequest(request, secrets, deployTargetsFrom(t.inventory, t.allocator, vault));
  };
  const simple = (prod: string): string =>
    project({ 'infra/compose.base.yml': 'services:\n  backend: {image: a}\n  admin: {image: b}\n  bot: {image: c}\n', 'infra/compose.prod.yml': prod });

  test('the first deploy allocates one port per module, in name order; the next changes nothing; a new service adds only its module', async () => {
    const two = 'services:\n  backend:\n    ports: ["${PORT}:8000"]\n  admin:\n    ports: ["${ADMIN_PORT}:80"]\n';
    const first = await accept(simple(two));
    // 8001 is seen listening on the server: skipped, as for any allocation.
    assert.deepEqual(first.target.modulePorts, { admin: 8000, app: 8002 });
    assert.equal(first.target.port, 8002, 'PORT and the main port are the app module\'s');
    assert.ok(first.plan.ready, JSON.stringify(first.plan.missing));
    const again = await accept(simple(two));
    assert.deepEqual(again.target.modulePorts, first.target.modulePorts);
    assert.deepEqual((await t.allocator.list('shop')).map((allocation) => [allocation.module, allocation.port]), [['admin', 8000], ['app', 8002]]);
    const three = await accept(simple(`${two}  bot:\n    ports: ["\${BOT_PORT}:8080"]\n`));
    assert.deepEqual(three.target.modulePorts, { admin: 8000, app: 8002, bot: 8003 });
  });

  test('an allocation made before (explicit modules, or the app of an earlier deploy) keeps its modules and ports', async () => {
    await t.allocator.allocate({ project: 'shop', modules: ['app', 'worker'], minRamMb: 256, minDiskMb: 0 });
    const accepted = await accept(simple('services:\n  backend:\n    ports: ["${PORT}:8000"]\n  admin:\n    ports: ["${ADMIN_PORT}:80"]\n'));
    // The deploy runs what the compose files publish; worker, which they do not, keeps its allocation until a deploy succeeds.
    assert.deepEqual(accepted.target.modulePorts, { admin: 8003, app: 8000 });
    assert.deepEqual((await t.allocator.list('shop')).map((allocation) => [allocation.module, allocation.port]), [['admin', 8003], ['app', 8000], ['worker', 8002]]);
  });

  test('a project that publishes no port gets the one default module, as before', async () => {
    const accepted = await accept(project({ 'infra/compose.base.yml': 'services:\n  worker: {image: a}\n' }));
    assert.deepEqual(accepted.target.modulePorts, { app: 8000 });
  });

  test('--health-path names a module of the compose files; one it does not have is refused with the modules it has', async () => {
    const folder = simple('services:\n  admin:\n    ports: ["${ADMIN_PORT}:80"]\n');
    const accepted = await accept(folder, { healthPaths: { admin: '/healthz' } });
    assert.deepEqual(accepted.options.healthPaths, { admin: '/healthz' });
    await assert.rejects(accept(folder, { healthPaths: { app: '/healthz' } }), /--health-path names app, but shop has no such module; its modules with a port: admin/);
  });

  test('a compose file Zavhoz cannot read refuses the deploy before anything is allocated', async () => {
    await assert.rejects(accept(simple('services:\n  backend:\n    ports: ["${LISTEN}:8000"]\n')), /compose\.prod\.yml:3: service backend publishes on \$\{LISTEN\}/);
    assert.deepEqual(await t.allocator.list('shop'), []);
    await assert.rejects(accept(path.join(os.tmpdir(), 'zavhoz-no-such-project-folder')), /The project folder .* does not exist/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
