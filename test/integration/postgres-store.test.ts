/**
 * The team store on a real PostgreSQL 15 (test/harness/postgres.ts): the schema the shared migrations make, every SQL
 * statement the daemon writes (collected from its source with the TypeScript compiler) accepted after translation,
 * values that come back as the embedded store gives them, transactions that keep all or nothing, four daemons' pools
 * racing on one unique key, and a server restarted in the middle of a write burst.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import ts from 'typescript';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { PostgresDatabase, type PostgresConnection } from '../../daemon/store/postgres/database.js';
import { ROWID_COLUMN, schemaOf, translateStatement, VERSION_TABLE } from '../../daemon/store/postgres/translate.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import type { SqlValue } from '../../daemon/store/journal.js';
import { Store } from '../../daemon/store/store.js';
import { freeLoopbackPort } from '../harness/net.js';
import { type PostgresLogin, type PostgresServer, startPostgres } from '../harness/postgres.js';
import { removeFolder } from '../harness/processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

let server: PostgresServer;
const opened: PostgresDatabase[] = [];

before(async () => {
  server = await startPostgres();
});

after(async () => {
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
  for (const database of opened) await database.close().catch(() => undefined);
  await server?.stop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

/** The store's connection to `login`, with the password fetched per connection as the daemon's vault would. */
function connectionOf(login: PostgresLogin, extra: Partial<PostgresConnection> = {}): PostgresConnection {
  const { password, ...rest } = login;
  return { ...rest, password: () => Promise.resolve(password), ...extra };
}

async function openStore(login: PostgresLogin, extra: Partial<PostgresConnection> = {}): Promise<PostgresDatabase> {
  const database = await PostgresDatabase.open({ connection: connectionOf(login, extra), migrations: MIGRATIONS });
  opened.push(database);
  return database;
}

/** The embedded store made by the same migrations, in a temp folder. */
async function withEmbeddedStore<T>(work: (store: Store) => T | Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-pg-embedded-'));
  const store = await Store.open({ database: path.join(dir, 'zavhoz.db'), journal: path.join(dir, 'zavhoz.journal'), migrations: MIGRATIONS });
  try {
    return await work(store);
  } finally {
    store.close();
    removeFolder(dir);
  }
}

async function rawQuery<T extends pg.QueryResultRow>(login: PostgresLogin, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(login);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('postgres store: schema', () => {
  test('all migrations apply from scratch, and tables, columns and indexes match the embedded store', async () => {
    const login = await server.createDatabase();
    await openStore(login);
    const embedded = await withEmbeddedStore((store) => {
      const tables = store.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'zavhoz_meta' ORDER BY name");
      const columns = tables.map(({ name }) => ({
        table: name,
        columns: store.all<{ name: string; type: string; notnull: number; pk: number }>(`PRAGMA table_info(${name})`).map((column) => ({
          name: column.name,
          type: column.type === 'INTEGER' ? 'bigint' : column.type.toLowerCase(),
          // A primary key's columns are NOT NULL on PostgreSQL (SQLite would let a TEXT key be null: nothing writes one).
          notNull: column.notnull === 1 || column.pk > 0,
        })),
      }));
      const indexes = store
        .all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name")
        .map((row) => row.name);
      return { columns, indexes };
    });
    const pgColumns = await rawQuery<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      login,
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name != $1 AND column_name != $2 ORDER BY table_name, ordinal_position`,
      [VERSION_TABLE, ROWID_COLUMN],
    );
    const postgres = [...new Set(pgColumns.map((row) => row.table_name))].map((table) => ({
      table,
      columns: pgColumns
        .filter((row) => row.table_name === table)
        .map((row) => ({ name: row.column_name, type: row.data_type, notNull: row.is_nullable === 'NO' })),
    }));
    assert.deepEqual(postgres, embedded.columns);
    const pgIndexes = (
      await rawQuery<{ indexname: string }>(login, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' ORDER BY indexname")
    ).map((row) => row.indexname);
    assert.deepEqual(pgIndexes, embedded.indexes);
    const version = await rawQuery<{ version: number }>(login, `SELECT version FROM ${VERSION_TABLE}`);
    assert.deepEqual(version, [{ version: MIGRATIONS.length }]);
  });

  test('four daemons opening a new database at once migrate it once', async () => {
    const login = await server.createDatabase();
    const stores = await Promise.all([0, 1, 2, 3].map(() => openStore(login)));
    assert.equal(stores.length, 4);
    const version = await rawQuery<{ version: number }>(login, `SELECT version FROM ${VERSION_TABLE}`);
    assert.deepEqual(version, [{ version: MIGRATIONS.length }]);
    // A second start finds nothing to do, and every store answers.
    for (const store of stores) assert.deepEqual(await store.all('SELECT key FROM settings'), []);
    await Promise.all(stores.map((store) => store.close()));
  });

  test('a database set up by a newer Zavhoz is refused and left untouched', async () => {
    const login = await server.createDatabase();
    await (await openStore(login)).close();
    await rawQuery(login, `UPDATE ${VERSION_TABLE} SET version = $1`, [MIGRATIONS.length + 1]);
    await assert.rejects(openStore(login), (error: unknown) => {
      assert.ok(error instanceof ZavhozError);
      assert.equal(error.code, ErrorCodes.StoreUnavailable);
      assert.match(error.message, /newer Zavhoz/);
      assert.ok(error.message.includes(`${login.host}:${login.port}`));
      return true;
    });
  });
});

/** A statement literal found in the daemon's source. */
interface Found {
  readonly file: string;
  readonly line: number;
  readonly sql: string;
}

/** Statement shapes, in the upper-case style the daemon writes SQL in (prose that starts with "Delete …" is not SQL). */
const SQL_SHAPE =
  /^\s*(SELECT\s[\s\S]*\bFROM\b|SELECT\s+\w+\(|INSERT\s+(OR\s+[A-Z]+\s+)?INTO\s|REPLACE\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(UNIQUE\s+)?(TABLE|INDEX)\s|ALTER\s+TABLE\s|PRAGMA\s+\w+|WITH\s+\w+\s+AS\b)/;

/**
 * Values for the `${…}` parts of statements built from templates, by file and expression: each variant is checked.
 * A template part not listed here fails the test, so a new dynamic statement gets a sample when it is written.
 */
const TEMPLATE_SAMPLES: Readonly<Record<string, readonly string[]>> = {
  'daemon/deploy/releaseStore.ts:which': ['', ' AND archived_at IS NULL'],
  'daemon/deploy/runStore.ts:assignments.join(\', \')': ['status = ?', 'status = ?, started_at = ?, finished_at = ?, exit_code = ?, error = ?, steps = ?, pid = ?, attempts = ?, release_id = ?, waiting_for = ?'],
  'daemon/deploy/runStore.ts:after': ['', ' AND (created_at, rowid) < (SELECT created_at, rowid FROM deploy_runs WHERE id = ?)'],
  'daemon/deploy/runStore.ts:marks': ['?', '?, ?, ?'],
  'daemon/deploy/runStore.ts:mine': ['', ' AND (daemon IS NULL OR daemon = ?)'],
  'daemon/inventory/inventory.ts:managed': ['', ' AND managed = 1'],
  'daemon/inventory/records.ts:names.join(\', \')': ['name, host, ssh_port, ssh_user, ram_mb, labels'],
  'daemon/inventory/records.ts:placeholders': ['?, ?, ?, ?, ?, ?, ?, ?, ?'],
  'daemon/inventory/records.ts:assignments': ['name = ?', 'status = ?, available_ram_mb = ?, listening_ports = ?'],
  'daemon/store/migrations.ts:latest': [String(MIGRATIONS.length)],
  'daemon/team/service.ts:table': ['servers', 'allocations', 'deploy_runs', 'secrets'],
  "daemon/vault/records.ts:where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''": ['', ' WHERE (project = ? OR project IS NULL) AND category = ?'],
  "daemon/vault/records.ts:handle === undefined ? '' : ' WHERE handle = ?'": ['', ' WHERE handle = ?'],
  "daemon/vault/records.ts:COLUMNS.split(',').map(() => '?').join(', ')": ['?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?'],
};

/**
 * Files whose SQL is not the daemon's domain SQL: the migrations (checked by applying them above), the embedded
 * engine's own bookkeeping (its snapshot meta table and integrity check), and the PostgreSQL store itself.
 */
const NOT_DOMAIN_SQL = [/^daemon\/store\/schema\.ts$/, /^daemon\/store\/snapshotFile\.ts$/, /^daemon\/store\/postgres\//];

/** Every statement literal in daemon/**.ts, templates expanded with their samples. */
function collectStatements(): { found: Found[]; problems: string[] } {
  const found: Found[] = [];
  const problems: string[] = [];
  const files: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, folder), { withFileTypes: true })) {
      const relative = `${folder}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(relative);
    }
  };
  walk('daemon');
  for (const file of files) {
    if (NOT_DOMAIN_SQL.some((pattern) => pattern.test(file))) continue;
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    // Constants a template refers to (`SELECT ${COLUMNS} FROM …`).
    const constants = new Map<string, string>();
    const literalOf = (node: ts.Node): string | undefined => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
      if (ts.isParenthesizedExpression(node)) return literalOf(node.expression);
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
        const left = literalOf(node.left);
        const right = literalOf(node.right);
        return left !== undefined && right !== undefined ? left + right : undefined;
      }
      return undefined;
    };
    const collectConstants = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        const value = literalOf(node.initializer);
        if (value !== undefined) constants.set(node.name.text, value);
      }
      ts.forEachChild(node, collectConstants);
    };
    collectConstants(source);
    const record = (node: ts.Node, variants: string[]): void => {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      for (const sql of variants) if (SQL_SHAPE.test(sql)) found.push({ file, line, sql });
    };
    const expand = (node: ts.TemplateExpression): string[] | undefined => {
      let variants = [node.head.text];
      for (const span of node.templateSpans) {
        const expression = span.expression.getText(source);
        const constant = ts.isIdentifier(span.expression) ? constants.get(expression) : undefined;
        const samples = constant !== undefined ? [constant] : TEMPLATE_SAMPLES[`${file}:${expression}`];
        if (samples === undefined) return undefined;
        variants = variants.flatMap((prefix) => samples.map((sample) => prefix + sample + span.literal.text));
      }
      return variants;
    };
    const visit = (node: ts.Node): void => {
      const literal = ts.isBinaryExpression(node) ? literalOf(node) : undefined;
      if (literal !== undefined) {
        record(node, [literal]);
        return;
      }
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
        record(node, [node.text]);
      } else if (ts.isTemplateExpression(node)) {
        const variants = expand(node);
        const shape = node.head.text + node.templateSpans.map((span) => `\${…}${span.literal.text}`).join('');
        if (variants !== undefined) record(node, variants);
        else if (SQL_SHAPE.test(shape.replace(/\$\{…\}/g, 'x'))) {
          const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          problems.push(`${file}:${line}: a statement built from a template with no sample in TEMPLATE_SAMPLES: ${node.getText(source).slice(0, 160)}`);
        }
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { found, problems };
}

describe('postgres store: the daemon\'s SQL', () => {
  test('every statement the daemon writes is translated and accepted by PostgreSQL (PREPARE)', async () => {
    const login = await server.createDatabase();
    await (await openStore(login)).close();
    const schema = schemaOf(MIGRATIONS.flatMap((migration) => migration.statements));
    const { found, problems } = collectStatements();
    // The scan must find the daemon's SQL, not silently nothing.
    assert.ok(found.length > 120, `only ${found.length} statements found`);
    assert.ok(found.some((entry) => entry.file === 'daemon/allocation/allocator.ts'));
    const client = new pg.Client(login);
    await client.connect();
    try {
      let index = 0;
      for (const entry of found) {
        let text: string;
        try {
          text = translateStatement(entry.sql, schema).text;
        } catch (error) {
          problems.push(`${entry.file}:${entry.line}: cannot translate: ${(error as Error).message}\n    ${entry.sql.replace(/\s+/g, ' ')}`);
          continue;
        }
        const name = `zavhoz_check_${++index}`;
        try {
          await client.query(`PREPARE ${name} AS ${text}`);
          await client.query(`DEALLOCATE ${name}`);
        } catch (error) {
          problems.push(`${entry.file}:${entry.line}: PostgreSQL refuses it: ${(error as Error).message}\n    ${text.replace(/\s+/g, ' ')}`);
        }
      }
    } finally {
      await client.end();
    }
    assert.deepEqual(problems, [], `statements PostgreSQL cannot take:\n${problems.join('\n')}`);
  });
});

describe('postgres store: values and transactions', () => {
  let store: PostgresDatabase;
  let login: PostgresLogin;
  const KINDS_TABLE = 'CREATE TABLE kinds (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, r REAL, t TEXT, b BLOB)';
  const INSERT_KIND = 'INSERT INTO kinds (n, r, t, b) VALUES (?, ?, ?, ?)';
  const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
  const samples: [number | null, number | null, string | null, Uint8Array | null][] = [
    [0, 0.5, '', new Uint8Array(0)],
    [-1, -2.25, 'plain', bytes],
    [Number.MAX_SAFE_INTEGER, 1e-9, "quotes ' \" and a ? mark", null],
    [Date.UTC(2026, 11, 7, 1, 2, 3, 456), null, 'ü — 😀 — 漢字', Uint8Array.of(0, 0, 0)],
    [null, 3, null, Uint8Array.of(255)],
  ];

  before(async () => {
    login = await server.createDatabase();
    store = await openStore(login);
    await store.transaction(async (tx) => {
      await tx.run(KINDS_TABLE);
    });
  });

  test('numbers (ms timestamps too), nulls, text and blobs come back as the embedded store gives them', async () => {
    await store.transaction(async (tx) => {
      for (const row of samples) assert.equal(await tx.run(INSERT_KIND, row), 1);
    });
    // Ordering with NULLs and text in byte order, and LIKE ignoring case, as SQLite answers them.
    const queries: [string, SqlValue[]][] = [
      ['SELECT n, r, t, b FROM kinds ORDER BY id', []],
      ['SELECT t FROM kinds ORDER BY t', []],
      ['SELECT t, n FROM kinds ORDER BY t DESC, n', []],
      ['SELECT n FROM kinds ORDER BY n DESC LIMIT ?', [3]],
      ['SELECT t FROM kinds WHERE t LIKE ?', ['PLAIN']],
    ];
    const fromPostgres = await Promise.all(queries.map(([sql, params]) => store.all(sql, params)));
    const fromEmbedded = await withEmbeddedStore((embedded) => {
      embedded.transaction((tx) => {
        tx.run(KINDS_TABLE);
        for (const row of samples) tx.run(INSERT_KIND, row);
      });
      return queries.map(([sql, params]) => embedded.all(sql, params));
    });
    assert.deepEqual(fromPostgres, fromEmbedded);
    assert.equal(fromPostgres[4]?.length, 1);
    assert.equal(typeof fromPostgres[0]?.[3]?.n, 'number');
    assert.ok(fromPostgres[0]?.[1]?.b instanceof Uint8Array);
    const count = await store.get<{ count: number; total: number }>('SELECT COUNT(*) AS count, SUM(n) AS total FROM kinds WHERE n IS NOT NULL AND n < ?', [1_000]);
    assert.deepEqual(count, { count: 2, total: -1 });
    // last_insert_rowid() answers the key the insert got, inside the transaction that made it.
    const id = await store.transaction(async (tx) => {
      await tx.run(INSERT_KIND, [1, 1, 'last', null]);
      return (await tx.get<{ id: number }>('SELECT last_insert_rowid() AS id'))?.id;
    });
    assert.deepEqual(await store.get('SELECT t FROM kinds WHERE id = ?', [id ?? -1]), { t: 'last' });
  });

  test('a transaction that throws leaves nothing, and one whose statement fails is not committed', async () => {
    const before = (await store.get<{ count: number }>('SELECT COUNT(*) AS count FROM settings'))?.count;
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['a', '1', 'now']);
        await tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['b', '2', 'now']);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal((await store.get<{ count: number }>('SELECT COUNT(*) AS count FROM settings'))?.count, before);
    await store.transaction((tx) => tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['kept', '1', 'now']));
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['c', '3', 'now']);
        // The work swallows the failure; the transaction is still not committed.
        await tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['kept', '2', 'now']).catch(() => undefined);
        await tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['d', '4', 'now']);
      }),
      (error: unknown) => error instanceof ZavhozError && error.code === ErrorCodes.Conflict && /settings/.test(error.message),
    );
    assert.deepEqual(await store.all('SELECT key, value FROM settings ORDER BY key'), [{ key: 'kept', value: '1' }]);
    // The store goes on working after both.
    assert.equal(await store.transaction((tx) => tx.run('UPDATE settings SET value = ? WHERE key = ?', ['5', 'kept'])), 1);
  });

  test('INSERT OR REPLACE and INSERT OR IGNORE behave as on the embedded store', async () => {
    await store.transaction(async (tx) => {
      await tx.run('INSERT OR REPLACE INTO vault_meta (key, value) VALUES (?, ?)', ['k', 'first']);
      await tx.run('INSERT OR REPLACE INTO vault_meta (key, value) VALUES (?, ?)', ['k', 'second']);
      assert.equal(await tx.run('INSERT OR IGNORE INTO secret_holds (holder, handle, version) VALUES (?, ?, ?)', ['rel_1', 'sec_a', 1]), 1);
      assert.equal(await tx.run('INSERT OR IGNORE INTO secret_holds (holder, handle, version) VALUES (?, ?, ?)', ['rel_1', 'sec_a', 1]), 0);
    });
    assert.deepEqual(await store.all('SELECT key, value FROM vault_meta'), [{ key: 'k', value: 'second' }]);
    assert.deepEqual(await store.all('SELECT * FROM secret_holds'), [{ holder: 'rel_1', handle: 'sec_a', version: 1 }]);
  });
});

describe('postgres store: four daemons at once', () => {
  test('4 pools inserting the same 1,000 (server, port) pairs: no duplicate, and every loser gets a clear conflict', async () => {
    const login = await server.createDatabase();
    const stores = await Promise.all([0, 1, 2, 3].map(() => openStore(login)));
    const pairs = Array.from({ length: 1_000 }, (_, index) => ({ server: `srv_${index % 10}`, port: 8000 + Math.floor(index / 10) }));
    const outcomes = await Promise.all(
      stores.map(async (store, member) => {
        // Each member walks the pairs in its own order, so they meet in the middle as well as at the ends.
        const order = member % 2 === 0 ? pairs : [...pairs].reverse();
        let won = 0;
        const conflicts: ZavhozError[] = [];
        for (const [index, pair] of order.entries()) {
          try {
            await store.transaction((tx) =>
              tx.run('INSERT INTO allocations (project, module, server, port, ram_mb, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
                `p${member}_${index}`,
                'app',
                pair.server,
                pair.port,
                256,
                new Date().toISOString(),
              ]),
            );
            won++;
          } catch (error) {
            if (!(error instanceof ZavhozError) || error.code !== ErrorCodes.Conflict) throw error;
            conflicts.push(error);
          }
        }
        return { won, conflicts };
      }),
    );
    const duplicates = await stores[0]?.all('SELECT server, port, COUNT(*) AS count FROM allocations GROUP BY server, port HAVING COUNT(*) > 1');
    assert.deepEqual(duplicates, []);
    assert.equal((await stores[0]?.get<{ count: number }>('SELECT COUNT(*) AS count FROM allocations'))?.count, 1_000);
    assert.equal(
      outcomes.reduce((sum, outcome) => sum + outcome.won, 0),
      1_000,
    );
    const conflicts = outcomes.flatMap((outcome) => outcome.conflicts);
    assert.equal(conflicts.length, 3_000);
    for (const conflict of conflicts) {
      // The key's columns are named; its values (the statement's params) are not.
      assert.match(conflict.message, /Another change got there first: allocations already has that key \(server, port\)/);
      assert.doesNotMatch(conflict.message, /srv_\d/);
      assert.match(conflict.message, /try again/);
    }
    await Promise.all(stores.map((store) => store.close()));
  });
});

describe('postgres store: losing the server', () => {
  for (const mode of ['immediate', 'fast'] as const) {
    test(`PostgreSQL restarted (${mode}) during a write burst: every acknowledged write is there afterwards, and the store works again`, async () => {
      const login = await server.createDatabase();
      const store = await openStore(login);
      const acknowledged: string[] = [];
      const unavailable: ZavhozError[] = [];
      let restartedAt: number | undefined;
      let restart: Promise<void> | undefined;
      let afterRestart = 0;
      for (let index = 0; afterRestart < 30; index++) {
        if (acknowledged.length === 40 && restart === undefined) {
          // While writes are in flight: the server stops as after a crash and comes back.
          restart = server.restart(mode).then(() => {
            restartedAt = Date.now();
          });
        }
        const subject = `burst-${index}`;
        try {
          await store.transaction((tx) =>
            tx.run('INSERT INTO audit_log (at, client, request_id, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)', [new Date().toISOString(), 'test', `r${index}`, 'write', subject, '{}']),
          );
          acknowledged.push(subject);
          if (restartedAt !== undefined) afterRestart++;
        } catch (error) {
          if (!(error instanceof ZavhozError) || error.code !== ErrorCodes.StoreUnavailable) throw error;
          unavailable.push(error);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.ok(index < 20_000, 'the store never recovered after the restart');
      }
      await restart;
      assert.ok(unavailable.length > 0, 'no write met the restart');
      for (const error of unavailable) {
        assert.ok(error.message.includes(`team database at ${login.host}:${login.port}`), error.message);
        assert.match(error.message, /reconnects by itself/);
        assert.ok(!error.message.includes(login.password));
      }
      const stored = new Set((await store.all<{ subject: string }>('SELECT subject FROM audit_log')).map((row) => row.subject));
      const lost = acknowledged.filter((subject) => !stored.has(subject));
      assert.deepEqual(lost, []);
      await store.transaction((tx) => tx.run('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)', ['after', 'restart', 'now']));
      assert.deepEqual(await store.get('SELECT value FROM settings WHERE key = ?', ['after']), { value: 'restart' });
    });
  }

  test('a server that does not answer, or refuses the login, is a StoreUnavailable error without the password', async () => {
    const port = await freeLoopbackPort();
    const nobody = { host: '127.0.0.1', port, database: 'none', user: 'zavhoz', password: 'not-this-one-3f9a' };
    await assert.rejects(openStore(nobody), (error: unknown) => {
      assert.ok(error instanceof ZavhozError);
      assert.equal(error.code, ErrorCodes.StoreUnavailable);
      assert.ok(error.message.includes(`team database at 127.0.0.1:${port} cannot be reached`), error.message);
      assert.ok(!error.message.includes(nobody.password));
      return true;
    });
    const login = await server.createDatabase();
    const wrong = { ...login, password: 'wrong-password-7c1e' };
    await assert.rejects(openStore(wrong), (error: unknown) => {
      assert.ok(error instanceof ZavhozError);
      assert.equal(error.code, ErrorCodes.StoreUnavailable);
      assert.match(error.message, /refused the login/);
      assert.ok(!error.message.includes(wrong.password) && !error.message.includes(login.password));
      return true;
    });
  });

  test('the password can come from a 0600 password file instead of a value', async () => {
    const login = await server.createDatabase();
    const { password: _password, ...withoutPassword } = login;
    const store = await PostgresDatabase.open({ connection: { ...withoutPassword, passFile: server.passFile }, migrations: MIGRATIONS });
    opened.push(store);
    assert.deepEqual(await store.all('SELECT key FROM settings'), []);
    fs.chmodSync(server.passFile, 0o644);
    try {
      await assert.rejects(
        PostgresDatabase.open({ connection: { ...withoutPassword, passFile: server.passFile }, migrations: MIGRATIONS }),
        (error: unknown) => error instanceof ZavhozError && /chmod 600/.test(error.message),
      );
    } finally {
      fs.chmodSync(server.passFile, 0o600);
    }
  });
});

describe('postgres store: notifications between members', () => {
  test('a notification from one member reaches another, also after the server restarted', async () => {
    const login = await server.createDatabase();
    const [first, second] = await Promise.all([openStore(login), openStore(login)]);
    const received: string[] = [];
    let reconnected = 0;
    let waiter: (() => void) | undefined;
    const until = async (check: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 50);
        });
      }
    };
    await second.listen(['zavhoz_changes'], {
      onMessage: (channel, payload) => {
        received.push(`${channel}:${payload}`);
        waiter?.();
      },
      onReconnected: () => {
        reconnected++;
        waiter?.();
      },
    });
    await first.notify('zavhoz_changes', 'runs/didChange');
    await until(() => received.length === 1, 'the first notification');
    assert.deepEqual(received, ['zavhoz_changes:runs/didChange']);

    await server.restart('fast');
    await until(() => reconnected === 1, 'the listener to reconnect');
    await first.notify('zavhoz_changes', 'servers/didChange');
    await until(() => received.length === 2, 'the notification after the restart');
    assert.deepEqual(received, ['zavhoz_changes:runs/didChange', 'zavhoz_changes:servers/didChange']);
    await assert.rejects(second.listen(['Robert"); DROP TABLE settings; --'], { onMessage: () => undefined }), /not a channel name/);
  });
});
