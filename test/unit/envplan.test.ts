import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { planEnvironment, type SecretCatalog } from '../../daemon/deploy/envPlan.js';
import { parseComposeFile, parseComposeReferences, parseComposeServices, parseEnvTemplate, readProjectTemplate } from '../../daemon/deploy/envTemplate.js';
import { environmentValues, formatDotenv } from '../../daemon/deploy/envValues.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/project');

/** Handles the vault would hold, as the plan sees them: names → handles, no values anywhere. */
function catalog(entries: Record<string, string>): SecretCatalog {
  return {
    handleFor: (_project, name) => entries[name],
    has: (handle) => Object.values(entries).includes(handle),
  };
}

describe('env templates and compose references', () => {
  test('a dotenv template yields its names, skipping comments, blanks and `export`', () => {
    const names = parseEnvTemplate('# comment\n\nexport API_TOKEN=\nPORT=8000\n  NAME = x\nPORT=9000\nnot a line\n1BAD=x\r\nCRLF=1\r\n');
    assert.deepEqual(names, ['API_TOKEN', 'PORT', 'NAME', 'CRLF']);
  });

  test('compose references: braces, defaults, bare $NAME; $$ escapes and comments are skipped', () => {
    const references = parseComposeReferences(
      [
        'image: ${BACKEND_IMAGE}',
        'level: ${LOG_LEVEL:-info}',
        'other: ${OTHER-x}',
        'required: ${NEEDED:?set it}',
        'bare: $BARE and $$ESCAPED',
        '# ${COMMENTED}',
        'url: http://x#${AFTER_HASH}',
      ].join('\n'),
    );
    assert.deepEqual(references, [
      { name: 'BACKEND_IMAGE', hasDefault: false },
      { name: 'LOG_LEVEL', hasDefault: true },
      { name: 'OTHER', hasDefault: true },
      { name: 'NEEDED', hasDefault: false },
      { name: 'BARE', hasDefault: false },
      { name: 'AFTER_HASH', hasDefault: false },
    ]);
  });

  test('compose services are found with their images', () => {
    const services = parseComposeServices('services:\n  web:\n    image: "ghcr.io/a/b:1"\n  database:\n    image: postgres:16\n  worker:\n    build: .\nvolumes:\n  data:\n');
    assert.deepEqual([...services], [
      ['web', 'ghcr.io/a/b:1'],
      ['database', 'postgres:16'],
    ]);
  });

  test('flow style: `environment: {A: 1}` and `[A=1]` set values in compose; references inside them are found', () => {
    const text = [
      'services: {web: {image: "ghcr.io/a/web:1", environment: {A: 1, B: "${B_VALUE}"}}, worker: {image: worker:2, environment: [A=1, "C=${C_VALUE:-c}"]}}',
      'volumes: {data: {}}',
    ].join('\n');
    const compose = parseComposeFile(text);
    assert.deepEqual(compose.references, [
      { name: 'B_VALUE', hasDefault: false },
      { name: 'C_VALUE', hasDefault: true },
    ]);
    assert.deepEqual([...compose.services], [
      ['web', 'ghcr.io/a/web:1'],
      ['worker', 'worker:2'],
    ]);
  });

  test('a `#` inside a quoted value is text, not a comment: the reference after it counts', () => {
    const compose = parseComposeFile('services:\n  web:\n    image: web:1\n    command: "serve --banner #${BANNER}" # ${COMMENTED}\n');
    assert.deepEqual(compose.references, [{ name: 'BANNER', hasDefault: false }]);
  });

  test('anchors, aliases and `<<` merge keys: a service gets its image and references from the anchor', () => {
    const text = [
      'x-database: &database',
      '  image: postgres:16',
      '  environment: &database-env',
      '    POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}',
      'services:',
      '  main-db:',
      '    <<: *database',
      '  replica:',
      '    <<: *database',
      '    environment:',
      '      <<: *database-env',
      '      REPLICA_OF: ${PRIMARY_HOST:-main-db}',
      '  app:',
      '    image: app:1',
      '    environment: *database-env',
    ].join('\n');
    const compose = parseComposeFile(text);
    assert.deepEqual([...compose.services], [
      ['main-db', 'postgres:16'],
      ['replica', 'postgres:16'],
      ['app', 'app:1'],
    ]);
    assert.deepEqual(new Set(compose.references.map((reference) => `${reference.name}:${reference.hasDefault}`)), new Set(['POSTGRES_PASSWORD:false', 'PRIMARY_HOST:true']));
  });

  test('`extends` within the file: a service takes the image of the one it extends; one in another file is not followed', () => {
    const text = [
      'services:',
      '  base: {image: "redis:7"}',
      '  cache:',
      '    extends: base',
      '  cache-eu:',
      '    extends: {service: cache}',
      '  elsewhere:',
      '    extends: {file: common.yml, service: base}',
      '  loop-a: {extends: loop-b}',
      '  loop-b: {extends: loop-a}',
    ].join('\n');
    assert.deepEqual([...parseComposeFile(text).services], [
      ['base', 'redis:7'],
      ['cache', 'redis:7'],
      ['cache-eu', 'redis:7'],
    ]);
  });

  test('a compose file that is not valid YAML is refused with its name, as compose would refuse it', () => {
    assert.throws(
      () => parseComposeFile('services:\n  web: {image: ${IMAGE}}\n', 'infra/compose.base.yml'),
      (error: unknown) => error instanceof ZavhozError && error.code === ErrorCodes.InvalidInput && /^infra\/compose\.base\.yml is not valid YAML/.test(error.message),
    );
  });

  test('the plan finds the database service through an anchor: POSTGRES_HOST is its name', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-envplan-'));
    try {
      fs.mkdirSync(path.join(folder, 'infra'));
      fs.writeFileSync(
        path.join(folder, 'infra/compose.base.yml'),
        'x-pg: &pg {image: "postgres:16-alpine"}\nservices:\n  api: {image: "${API_IMAGE}", environment: ["DB_HOST=${POSTGRES_HOST}"]}\n  store:\n    <<: *pg\n',
      );
      const template = readProjectTemplate(folder);
      assert.deepEqual(template.files, ['infra/compose.base.yml']);
      const environment = environmentValues(
        planEnvironment(template, { project: 'shop', bindings: {}, catalog: catalog({}) }),
        { project: 'shop', repository: 'acme/shop', port: 8100, modulePorts: { main: 8100 }, services: template.services },
        new Map(),
      );
      assert.equal(environment.get('POSTGRES_HOST'), 'store');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  test('the fixture project: every variable with where it was found; a compose default makes it optional', () => {
    const template = readProjectTemplate(FIXTURE);
    const byName = new Map(template.variables.map((variable) => [variable.name, variable]));
    assert.deepEqual(template.files, ['.env.example', 'infra/.env.example', 'infra/compose.base.yml', 'infra/compose.prod.yml']);
    assert.deepEqual(byName.get('API_TOKEN')?.sources, ['.env.example', 'compose']);
    assert.deepEqual(byName.get('POSTGRES_USER')?.sources, ['infra/.env.example', 'compose']);
    assert.equal(byName.get('LOG_LEVEL')?.optional, true);
    assert.equal(byName.get('API_TOKEN')?.optional, false);
  });

  test('a folder without compose files is refused with what to do', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-envplan-'));
    try {
      fs.writeFileSync(path.join(empty, '.env.example'), 'A=1\n');
      assert.throws(
        () => readProjectTemplate(empty),
        (error: unknown) => error instanceof ZavhozError && error.code === ErrorCodes.InvalidInput && /compose/.test(error.message),
      );
      assert.throws(() => readProjectTemplate(path.join(empty, 'missing')), /does not exist/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('env plan classification', () => {
  const template = readProjectTemplate(FIXTURE);

  test('infra, computed and user variables with handles and rules; missing ones with the exact command', () => {
    const plan = planEnvironment(template, { project: 'demo', bindings: {}, catalog: catalog({ API_TOKEN: 'sec_aaaaaaaa' }) });
    const byName = new Map(plan.variables.map((variable) => [variable.name, variable]));
    const kindAndStatus = (name: string): string => `${byName.get(name)?.kind}/${byName.get(name)?.status}`;
    assert.equal(kindAndStatus('POSTGRES_PASSWORD'), 'infra/generate');
    assert.equal(kindAndStatus('APP_SECRET_KEY'), 'infra/generate');
    assert.equal(kindAndStatus('DATABASE_URL'), 'infra/composed');
    assert.deepEqual(byName.get('DATABASE_URL')?.parts, ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_HOST', 'POSTGRES_PORT', 'POSTGRES_DB']);
    // Parts the templates do not list are planned too, because the composed value needs them.
    assert.deepEqual(byName.get('POSTGRES_HOST')?.sources, ['implied']);
    for (const name of ['APP_NAME', 'PORT', 'ENVIRONMENT', 'POSTGRES_USER', 'POSTGRES_DB', 'BACKEND_IMAGE']) {
      assert.equal(kindAndStatus(name), 'computed/computed', name);
    }
    assert.equal(byName.get('BACKEND_IMAGE')?.rule, 'ghcr.io/OWNER/REPO-backend:latest');
    assert.equal(kindAndStatus('API_TOKEN'), 'user/bound');
    assert.equal(byName.get('API_TOKEN')?.handle, 'sec_aaaaaaaa');
    assert.equal(kindAndStatus('LOG_LEVEL'), 'user/optional');
    assert.equal(kindAndStatus('WEBHOOK_SECRET'), 'user/missing');
    assert.equal(plan.ready, false);
    assert.deepEqual(plan.missing, [
      { name: 'WEBHOOK_SECRET', type: 'token', command: 'zavhoz secret set WEBHOOK_SECRET --type token --project demo' },
    ]);
    // Names, kinds and handles only: the template's example values never reach the plan.
    const text = JSON.stringify(plan);
    for (const example of ['change-me', 'postgresql://demo:demo', 'development']) assert.ok(!text.includes(example), example);
  });

  test('a binding wins over every rule; bindings of unknown names or handles are refused', () => {
    const vault = catalog({ API_TOKEN: 'sec_aaaaaaaa', EXTERNAL: 'sec_bbbbbbbb', HOOK: 'sec_cccccccc' });
    const plan = planEnvironment(template, {
      project: 'demo',
      bindings: { DATABASE_URL: 'sec_bbbbbbbb', WEBHOOK_SECRET: 'sec_cccccccc' },
      catalog: vault,
    });
    const byName = new Map(plan.variables.map((variable) => [variable.name, variable]));
    assert.equal(plan.ready, true);
    assert.deepEqual([byName.get('DATABASE_URL')?.status, byName.get('DATABASE_URL')?.handle], ['bound', 'sec_bbbbbbbb']);
    // A bound DATABASE_URL needs no parts the templates do not list.
    assert.equal(byName.has('POSTGRES_HOST'), false);
    assert.throws(() => planEnvironment(template, { project: 'demo', bindings: { NOPE: 'sec_aaaaaaaa' }, catalog: vault }), /does not use NOPE/);
    assert.throws(
      () => planEnvironment(template, { project: 'demo', bindings: { API_TOKEN: 'sec_zzzzzzzz' }, catalog: vault }),
      /no secret with handle sec_zzzzzzzz/,
    );
  });

  test('<MODULE>_PORT is computed only for allocated modules', () => {
    const withModule = planEnvironment(
      { ...template, variables: [...template.variables, { name: 'WORKER_PORT', sources: ['compose'], optional: false }] },
      { project: 'demo', bindings: {}, catalog: catalog({}), modules: ['app', 'worker'] },
    );
    assert.equal(withModule.variables.find((variable) => variable.name === 'WORKER_PORT')?.kind, 'computed');
    const withoutModule = planEnvironment(
      { ...template, variables: [...template.variables, { name: 'SMTP_PORT', sources: ['.env.example'], optional: false }] },
      { project: 'demo', bindings: {}, catalog: catalog({}), modules: ['app'] },
    );
    assert.equal(withoutModule.variables.find((variable) => variable.name === 'SMTP_PORT')?.status, 'missing');
  });
});

describe('env values and the .env file', () => {
  const template = readProjectTemplate(FIXTURE);
  const handles = { API_TOKEN: 'sec_aaaaaaaa', WEBHOOK_SECRET: 'sec_cccccccc', POSTGRES_PASSWORD: 'sec_dddddddd', APP_SECRET_KEY: 'sec_eeeeeeee' };

  test('computed values follow the project and allocation; composed ones embed URL-encoded parts', () => {
    const plan = planEnvironment(template, { project: 'shop-api', bindings: {}, catalog: catalog(handles) });
    const values = environmentValues(
      plan,
      { project: 'shop-api', repository: 'Acme/Shop', port: 8123, modulePorts: { app: 8123 }, services: template.services },
      new Map([
        ['sec_aaaaaaaa', 'api-token-value'],
        ['sec_cccccccc', 'hook value'],
        ['sec_dddddddd', 'p@ss/word'],
        ['sec_eeeeeeee', 'k'],
      ]),
    );
    assert.equal(values.get('PORT'), '8123');
    assert.equal(values.get('APP_NAME'), 'shop-api');
    assert.equal(values.get('ENVIRONMENT'), 'production');
    assert.equal(values.get('BACKEND_IMAGE'), 'ghcr.io/acme/shop-backend:latest');
    assert.equal(values.get('POSTGRES_USER'), 'shop_api');
    assert.equal(values.get('DATABASE_URL'), 'postgresql://shop_api:p%40ss%2Fword@db:5432/shop_api');
    assert.equal(values.has('LOG_LEVEL'), false, 'optional variables are left to the compose default');
  });

  test('.env quoting keeps every value intact', () => {
    const text = formatDotenv(
      new Map([
        ['PLAIN', 'abc-123_x.y:z/@'],
        ['SPACES', 'hello world #1'],
        ['QUOTE', `it's "x" $HOME \\ end`],
        ['MULTI', 'line1\nline2'],
        ['EMPTY', ''],
      ]),
    );
    const lines = text.trimEnd().split('\n').slice(1);
    assert.deepEqual(lines, [
      'PLAIN=abc-123_x.y:z/@',
      "SPACES='hello world #1'",
      'QUOTE="it\'s \\"x\\" \\$HOME \\\\ end"',
      'MULTI="line1\\nline2"',
      'EMPTY=',
    ]);
  });
});
